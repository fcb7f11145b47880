"""Call recordings (R16): bridge recordings made through ARI, fetched into our storage, kept for a
queue's retention period, downloaded by the roles whose duties need them."""

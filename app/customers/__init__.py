"""The customer archive (R14). Today: who is an important customer (R11), by phone number; the
agent desktop builds the rest (names, addresses, history, number normalisation) on this table."""

"""Who is calling our API: bearer tokens, users and their roles (R20)."""

"""The hotline service: FastAPI + async SQLAlchemy, driving Asterisk through ARI."""

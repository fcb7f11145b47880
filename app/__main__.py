"""`python -m app` runs the service (settings from HOTLINE_* environment variables)."""

from app.main import main

main()

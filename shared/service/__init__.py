"""A service's skeleton: the parts every service's ``app.py`` assembles, and those of
the services whose state lives in PostgreSQL."""

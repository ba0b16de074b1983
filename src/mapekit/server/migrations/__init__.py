"""Alembic migrations of the rule server's schema (run by ``mape server init``)."""

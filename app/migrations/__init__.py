"""Alembic migrations: ``env.py`` and ``versions/`` (one revision per schema change). See README 运维 / Operations."""

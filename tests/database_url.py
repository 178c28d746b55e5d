"""The PostgreSQL URL the suite runs against (TEST_DATABASE_URL), empty for SQLite.

A module of its own because `tests/e2e/conftest.py` shadows `conftest` when the whole suite is collected."""
import os

PG_URL = os.environ.get("TEST_DATABASE_URL", "")

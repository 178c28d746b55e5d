#!/usr/bin/env bash
# Set up (first time) and run the service on http://127.0.0.1:${PORT:-5000}.
# Honours PORT, HOST, DATABASE_URL (default: SQLite in ./instance/govproc.db), DEMO_DATA, ADMIN_PASSWORD,
# SECRET_KEY, WEB_WORKERS, WEB_THREADS, WEB_TIMEOUT, SCHEDULER … (README "Settings").
# Prepares the database once, then serves through gunicorn (app/serve.py).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
# (Re)install when the dependencies changed since the last install.
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/pip install -q -e .
  touch .venv/.installed
fi
exec .venv/bin/python -m app serve

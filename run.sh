#!/usr/bin/env bash
# Set up (first time) and run the service on http://127.0.0.1:${PORT:-5000} with demo data.
# Honours PORT and DATABASE_URL (default: SQLite in ./instance/govproc.db).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
if ! .venv/bin/python -c "import app, flask_smorest, SpiffWorkflow" 2>/dev/null; then
  .venv/bin/pip install -q -e .
fi
exec .venv/bin/python -m app

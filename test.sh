#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: once on SQLite, once on PostgreSQL when reachable.
# PostgreSQL: TEST_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
.venv/bin/pip install -q -e ".[test]"
# Camunda's Node.js worker client, run by tests/test_engine_rest_js_client.py (skipped without node and npm).
if command -v npm >/dev/null && [ ! -d tests/node/node_modules/camunda-external-task-client-js ]; then
  (cd tests/node && npm install --no-audit --no-fund --silent) || echo "npm install failed: the Node.js client test will be skipped"
fi
# Browser tests (tests/e2e) drive Debian's Chromium through Playwright; `playwright install` is not used.
# The WenQuanYi font makes failure screenshots (test-results/) readable in Chinese.
# fpdf2 embeds that font in the 审批单 PDF too (app/web/sheet_pdf.py).
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
  else
    echo "/usr/bin/chromium is missing (run: apt-get install chromium); the browser tests will be skipped"
  fi
fi
PG_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"

echo "== lint bpmn/ and forms/ (scripts/lint_bpmn.py --strict: warnings such as a form field no diagram reads fail too) =="
.venv/bin/python scripts/lint_bpmn.py --joins --strict bpmn/ forms/

# The SQLite and PostgreSQL runs are independent processes (own databases, free ports): they run side by side,
# one per core, each into its own log, printed when both have ended. TEST_SEQUENTIAL=1 runs them one after the other.
if ! .venv/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable ({exc}); skipping the PostgreSQL run")
    sys.exit(1)
PY
then
  echo "== tests on SQLite =="
  TEST_DATABASE_URL= exec .venv/bin/python -m pytest tests "$@"
fi
if [ "${TEST_SEQUENTIAL:-0}" = 1 ]; then
  echo "== tests on SQLite =="
  TEST_DATABASE_URL= .venv/bin/python -m pytest tests "$@"
  echo "== tests on PostgreSQL =="
  TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest tests "$@"
  exit 0
fi
logs="$(mktemp -d)"
TEST_DATABASE_URL= .venv/bin/python -m pytest tests "$@" >"$logs/sqlite.log" 2>&1 &
sqlite_pid=$!
TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest tests "$@" >"$logs/postgresql.log" 2>&1 &
pg_pid=$!
sqlite_rc=0; pg_rc=0
wait "$sqlite_pid" || sqlite_rc=$?
wait "$pg_pid" || pg_rc=$?
echo "== tests on SQLite (exit $sqlite_rc) =="
cat "$logs/sqlite.log"
echo "== tests on PostgreSQL (exit $pg_rc) =="
cat "$logs/postgresql.log"
rm -rf "$logs"
[ "$sqlite_rc" = 0 ] && [ "$pg_rc" = 0 ]

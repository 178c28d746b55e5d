#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: once on SQLite, once on PostgreSQL when reachable.
# PostgreSQL: TEST_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
.venv/bin/pip install -q -e ".[test]"
# Browser tests (tests/e2e) drive Debian's Chromium through Playwright; `playwright install` is not used.
# The WenQuanYi font makes failure screenshots (test-results/) readable in Chinese.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null
  else
    echo "/usr/bin/chromium is missing (run: apt-get install chromium); the browser tests will be skipped"
  fi
fi
PG_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"

echo "== lint bpmn/ and forms/ (scripts/lint_bpmn.py) =="
.venv/bin/python scripts/lint_bpmn.py --joins bpmn/ forms/

echo "== tests on SQLite =="
TEST_DATABASE_URL= .venv/bin/python -m pytest tests "$@"

if .venv/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable ({exc}); skipping the PostgreSQL run")
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL =="
  TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest tests "$@"
fi

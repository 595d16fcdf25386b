#!/usr/bin/env bash
# Regenerate migrations/versions/0001_initial.py from the models against an empty SQLite file.
# Only while the first schema has never been released; later changes get migrations of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/0001_*.py
DATABASE_URL="sqlite:///$tmp/empty.db" FLASK_APP=app:create_app .venv/bin/flask db migrate --rev-id 0001 -m initial >/dev/null
rm -rf "$tmp"
ls migrations/versions/0001_*.py

#!/usr/bin/env bash
# Regenerate migrations/versions/0001_initial.py (the tables) from the models against an empty SQLite file.
# Only while the first schema has never been released. Works on a copy of migrations/ and replaces
# 0001 only when generation succeeded; hand-written migrations (0002_*, e.g. triggers) are untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r migrations "$tmp/migrations"
rm -f "$tmp"/migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/empty.db" FLASK_APP=composition:create_app \
  .venv/bin/flask db migrate -d "$tmp/migrations" --rev-id 0001 -m initial >/dev/null 2>"$tmp/log" \
  || { cat "$tmp/log"; echo "migration NOT regenerated" >&2; exit 1; }
cp "$tmp"/migrations/versions/0001_initial.py migrations/versions/0001_initial.py
ls migrations/versions/0001_initial.py

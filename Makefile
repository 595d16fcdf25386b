# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# pytest-xdist workers for `make test` (SQLite: each test has its own database file)
TEST_WORKERS ?= 2
export FLASK_APP := composition:create_app

.PHONY: run test test-pg test-browser lint venv translations migrate demo extract-messages run-prod clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(BIN)/.installed

translations: venv
	$(BIN)/pybabel compile -d translations 2>&1 | grep -v "^compiling" || true

migrate: venv
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask demo load

## Start the app on SQLite (instance/volunteers.db) with demo data, at http://127.0.0.1:5000 (PORT=... to change)
run: translations demo
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

## The production setup locally: gunicorn + the scheduler on PostgreSQL (database volunteers_prod,
## secrets in instance/prod.env), at http://127.0.0.1:8000 (PROD_PORT=... to change); Ctrl-C stops both
run-prod: translations
	bash scripts/run_prod.sh

## Lint, format, types and layers: ruff, ruff format --check, mypy, import-linter (settings in pyproject.toml)
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=. $(BIN)/lint-imports

## Run the whole test suite (browser tests need Debian's chromium; see .ci/run)
test: translations
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## The suite against PostgreSQL: TEST_DATABASE_URL=postgresql+psycopg://... make test-pg
test-pg: translations
	$(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

test-browser: translations
	$(BIN)/python -m pytest -m browser $(PYTEST_ARGS)

## Re-extract messages and update the catalogues (developers)
extract-messages: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) instance/*.db

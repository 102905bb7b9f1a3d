# The dev loop. `make run` and `make test` are the whole set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app:create_app
SOURCES := app.py config.py extensions.py models services views commands devtools templates

.PHONY: run test bench cluster soak lint typecheck format translations extract-messages system-deps clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

instance/config.py:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(f'SECRET_KEY = {secrets.token_hex(32)!r}')" > $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d translations 2>&1 | grep -v "^compiling"; test -f translations/zh_Hans/LC_MESSAGES/messages.mo

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot $(SOURCES)
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/python tools/fill_catalog.py translations/en/LC_MESSAGES/messages.po --same

run: $(VENV)/.installed instance/config.py translations
	$(BIN)/flask db upgrade
	$(BIN)/flask regions load
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask make-qrcodes
	@echo
	@$(BIN)/flask demo-info
	@echo
	$(BIN)/gunicorn --config gunicorn.conf.py 'app:create_app()'

# Debian's Chromium drives the browser tests, Debian's nginx checks deploy/, and
# postgresql-client serves `flask backup`; what is missing is installed, or the run fails loudly.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/sbin/nginx ] || ! fc-list 2>/dev/null | grep -qi 'CJK'; then \
	  echo "Installing Debian packages for the tests (chromium, CJK fonts, nginx)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk poppler-utils nginx \
	  || { echo "ERROR: could not install the test packages (chromium, fonts-noto-cjk, poppler-utils, nginx); run as root or install them yourself." >&2; exit 1; }; \
	fi
	@# flask backup/restore on PostgreSQL (and their tests) run pg_dump and pg_restore.
	@command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || { \
	  echo "Installing Debian's postgresql-client (pg_dump, pg_restore)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client \
	  || { echo "ERROR: could not install postgresql-client; run as root or install it yourself." >&2; exit 1; }; }

# The suite split across TEST_WORKERS processes (pytest-xdist; `make test TEST_WORKERS=0`
# runs it in one). Each worker has its own SQLite file or PostgreSQL database.
TEST_WORKERS ?= 2

test: $(VENV)/.dev-installed translations system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: $(VENV)/.dev-installed translations
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/python bench/run.py

# The production shape on loopback: nginx on :8080 in front of two app servers (:8001, :8002),
# the machine's PostgreSQL and Redis, the jobs loop (devtools/cluster.py). Ctrl-C stops it.
cluster: $(VENV)/.dev-installed translations system-deps
	$(BIN)/python -m devtools.cluster

# A steady load against the cluster while an app server is killed, PostgreSQL and Redis are
# restarted; then a count of what was kept (devtools/soak.py). SOAK_MINUTES=3 in CI.
SOAK_MINUTES ?= 30
soak: $(VENV)/.dev-installed translations system-deps
	$(BIN)/python -m devtools.soak --minutes $(SOAK_MINUTES)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck

# mypy on the files pyproject.toml names (the models and the services).
typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

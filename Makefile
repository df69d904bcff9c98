# The two commands a newcomer needs: `make run` and `make test`. README.md explains them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# The PostgreSQL server on this machine (trust auth); the suite creates and drops its own test_ database.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/ledger
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv run token test test-sqlite test-postgres lint bench bench-smoke wrk loadtest clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# A live dashboard at once: migrate, a demo login, a simulated feed beside gunicorn (and `manage.py notify` when
# PAPER_NOTIFY_URLS is set: `make run PAPER_NOTIFY_URLS=tgram://BOT_TOKEN/CHAT_ID`), then the URL and the login
# (again every few minutes). Ctrl-C stops them all (tradingsite/run.py). `make run PORT=8001` for another port.
run: export DEBUG = 1
run: venv
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) demo_login
	$(BIN)/python -m tradingsite.run --host $(HOST) --port $(PORT)

# An API token for the database `make run` serves, printed once: `make token NAME=signal-bot SCOPE=trade` (SCOPE
# read, the default, may only read). DEBUG=1 as `make run`: settings need no SECRET_KEY then (a token is hashed,
# not signed). On a server run `manage.py create_api_token` with the server's own SECRET_KEY and DATABASE_URL.
token: export DEBUG = 1
token: venv
	@$(MANAGE) create_api_token "$(NAME)" --scope $(or $(SCOPE),read)

# The whole suite on SQLite; `make test-postgres` runs it again on PostgreSQL (CI runs both). Two workers
# (pytest-xdist; one a core here), each with a test database of its own; worksteal evens out the long tests.
PYTEST := $(BIN)/pytest --create-db -n 2 --dist worksteal

test: test-sqlite

test-sqlite: venv
	$(PYTEST)

test-postgres: venv
	DATABASE_URL=$(POSTGRES_URL) $(PYTEST)

# Lint and format, as configured in pyproject.toml; CI fails on either (`ruff format .` fixes the format).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Speed and memory at 10k, 100k and 1M trades beside floors from the same run (bench/README.md).
# SQLite by default; `make bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/ledger` for PostgreSQL.
bench: venv wrk
	$(BIN)/python -m bench.run

# Every step of the benchmark at a small scale on a scratch database, in under a minute: fails on any error or
# any answer other than 2xx/3xx, never on a ratio. CI runs it, so `make bench` cannot break unseen.
bench-smoke: venv wrk
	$(BIN)/python -m bench.run --smoke

wrk:
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq wrk >/dev/null

# 20 clients for 60 s against gunicorn, on a fresh SQLite file and then a fresh PostgreSQL database;
# prints throughput and latencies, fails on any 5xx, lock error or inconsistency (docs/operations.md).
loadtest: venv
	$(BIN)/python -m loadtest.run --clients 20 --seconds 60 --postgres $(POSTGRES_URL)

clean:
	rm -rf $(VENV) staticfiles artifacts .pytest_cache db.sqlite3* test-db-*

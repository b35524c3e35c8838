# Deal Alerts — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# make run's local Discord webhook peer: what the demo's webhooks post to (README: "Discord").
DISCORD_PEER_PORT ?= 8765
DISCORD_DEMO = DISCORD_PEER_PORT=$(DISCORD_PEER_PORT) DISCORD_API_URL=$${DISCORD_API_URL:-http://127.0.0.1:$(DISCORD_PEER_PORT)/api/v10}
# make run's local push service: the demo's push devices (README: "Real providers", web push).
PUSH_PEER_PORT ?= 8766
# Development commands run with DEBUG on unless told otherwise: with it off, the settings require a
# SECRET_KEY of your own (see README: "Configuration").
DEV := DEBUG=$${DEBUG:-true}

.PHONY: run test setup migrate demo lint browser bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(DEV) $(BIN)/python manage.py migrate --noinput

demo: migrate
	$(DEV) $(BIN)/python manage.py generate_vapid_keys --demo
	$(DEV) $(BIN)/python manage.py seed_demo
	$(DEV) $(BIN)/python manage.py seed_demo_alerts
	$(DEV) $(BIN)/python manage.py seed_demo_watchlist
	$(DEV) $(BIN)/python manage.py seed_demo_shoppers
	$(DEV) $(BIN)/python manage.py seed_demo_activity

## make run: web, worker, beat and the demo feed in one terminal (Ctrl-C stops all).
# honcho gives each process type its own PORT (web PORT, worker PORT+100, …), so the links the
# worker puts in emails get the web port through SITE_URL, not PORT.
run: demo
	DEBUG=$${DEBUG:-true} PORT=$(PORT) SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(DISCORD_DEMO) PUSH_PEER_PORT=$(PUSH_PEER_PORT) PUSH_DEMO_SERVICE_URL=$${PUSH_DEMO_SERVICE_URL:-http://127.0.0.1:$(PUSH_PEER_PORT)} $(BIN)/honcho start -f Procfile

lint: setup
	$(BIN)/ruff check .

# Browser tests drive Debian's Chromium; install it when it is missing and we may.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need /usr/bin/chromium: sudo apt-get install chromium"; exit 1; fi; }

## make test: lint and the whole suite (against DATABASE_URL / REDIS_URL when set).
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

bench: migrate
	# Measured as production runs (DEBUG off), so with a throwaway key unless one is given.
	SECRET_KEY=$${SECRET_KEY:-bench-only-throwaway-key} $(BIN)/python manage.py bench_ingest --listings 50000

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis

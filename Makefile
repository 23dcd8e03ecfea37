# Two commands: `make run` and `make test`. Both bootstrap .venv from a clean clone.
PY ?= python3.11
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench model venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# With WeCom credentials (environment or .env): two processes on the one database (SQLite by
# default) — ingest (verify, store, ack; RUN_WORKER=false) and the worker (handlers, timers,
# sender), each on its own core; the ingest process wakes the worker after every commit
# (bot/wake.py WakeSocket). Ctrl-C stops both; if either exits, the other is stopped. Without
# credentials: the one-process sandbox run, as before.
run: $(STAMP)
	@if $(BIN)/python -c "from bot.settings import load_settings as l; raise SystemExit(0 if l().sandbox_mode else 1)" 2>/dev/null; then \
		exec $(BIN)/python main.py serve; \
	fi; \
	RUN_WORKER=false $(BIN)/python main.py serve & ingest=$$!; \
	$(BIN)/python main.py worker & worker=$$!; \
	trap 'kill -TERM $$ingest $$worker 2>/dev/null' INT TERM; \
	wait -n $$ingest $$worker; status=$$?; \
	kill -TERM $$ingest $$worker 2>/dev/null; wait; exit $$status

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

# Retrain the intent model from the committed data (bit for bit the committed file; see docs/nlp.md).
model: $(STAMP)
	$(BIN)/python -m nlp.train_intent

clean:
	rm -rf $(VENV) data .pytest_cache

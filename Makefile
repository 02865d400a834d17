# chatapp: `make run` serves it, `make test` checks it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run cluster test bench lint mutants clean

run: $(VENV)/.requirements
	$(BIN)/flask --app wsgi db upgrade
	exec $(BIN)/gunicorn --config deploy/gunicorn.conf.py wsgi:app

# The deployment for several hosts, on this machine: PostgreSQL, Redis, nginx in front of
# two gunicorns with WEB_CONCURRENCY workers each; prints its URL; Ctrl-C stops it all.
cluster: $(VENV)/.requirements
	exec $(BIN)/python -m deploy.cluster

test: $(VENV)/.requirements-dev
	scripts/install-test-services
	$(BIN)/pytest

# Run the benchmarks and print their tables (bench/README.md says what they measure);
# one of them runs on PostgreSQL, Redis and nginx, which the tests' install script installs.
bench: $(VENV)/.requirements-dev
	scripts/install-test-services
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.login_stall

# Mutation testing of the checks that guard origins, room access, names and room logs, and
# of the message path: saving, read marks, the room socket; against the tests that cover
# them (slow; neither make test nor CI runs it). One child: the tests are timing-sensitive.
MUTANTS := "chatapp.origins.*" "chatapp.access.*" "chatapp.names.*" \
	"chatapp.roomlog.x_escape_controls*" "chatapp.roomlog.x__escaped*" "chatapp.roomlog.x_log_path*" \
	"chatapp.messaging.*" "chatapp.reading.*" "chatapp.connections.roomsocket.*"
mutants: $(VENV)/.requirements-dev
	$(BIN)/mutmut run --max-children 1 $(MUTANTS)
	$(BIN)/mutmut results

lint: $(VENV)/.requirements-dev
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.requirements: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements-dev.txt $(VENV)/.requirements
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis mutants

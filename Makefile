# fanzha — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FANZHA_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo test install lint typecheck migrations-check pytest e2e clean

$(BIN)/fanzha: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/fanzha

install: $(BIN)/fanzha

## make demo: virtualenv, install, migrate var/fanzha.sqlite3, build the demo world, serve on 127.0.0.1:8000
demo: install
	$(BIN)/fanzha migrate --no-input
	$(BIN)/fanzha demo --size small

lint: install
	$(BIN)/ruff check fanzha tests
	$(BIN)/ruff format --check fanzha tests
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy fanzha

migrations-check: install
	DJANGO_SETTINGS_MODULE=fanzha.settings.test $(BIN)/fanzha makemigrations --check --dry-run

## make test: lint, types, migrations, and the whole pytest suite (browser tests included)
test: install lint typecheck migrations-check
	bash scripts/pytest-nonempty $(BIN)/pytest -q -n 2

clean:
	rm -rf $(VENV) var

# Cockpit: `make run` starts it on embedded defaults; `make test` runs the suite.
SHELL := /bin/sh
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint check system-deps venv migrate clean

$(PY):
	@PYBIN=$$(scripts/find-python) && echo "Using $$PYBIN" && "$$PYBIN" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@scripts/system-deps

migrate: venv
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v0

run: system-deps venv
	@PY=$(PY) HOST=$(HOST) PORT=$(PORT) scripts/run-dev

test: system-deps venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run -v1

check: lint
	COCKPIT_ENV=production SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(60))') \
	COCKPIT_TOKEN_PEPPER=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(40))') \
	COCKPIT_CONNECTOR_SEAL_KEY=$$($(PY) -c 'import base64,secrets;print(base64.b64encode(secrets.token_bytes(32)).decode())') \
	ALLOWED_HOSTS=cockpit.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var/static

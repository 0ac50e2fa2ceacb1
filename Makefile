# TapCraft Pro: `make run` brings the whole system up locally, `make test`
# runs every check. Both create the virtual environment on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAGE ?= dev
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench deploy clean browser

$(STAMP): requirements.txt requirements-dev.txt requirements-agent.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The OAuth sign-in test drives Debian's chromium; install it when we can.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing and cannot be installed here:" \
	      "the OAuth browser test will be skipped"; \
	  fi; }

test: lint browser
	$(BIN)/python -m pytest

BENCHMARKS := api auth dispatch webhooks vision device

bench: $(STAMP)
	for name in $(BENCHMARKS); do \
	  echo "== benchmarks/$$name.py"; \
	  TAPCRAFT_LOG_LEVEL=WARNING $(BIN)/python -m benchmarks.$$name || exit 1; \
	done

deploy: $(STAMP)
	STAGE=$(STAGE) PATH=$(BIN):$$PATH infra/deploy.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Two commands on a fresh machine: `make demo` and `make test`. Everything else follows.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= var/demo.db
DEMO_URL := sqlite:///$(DEMO_DB)

.PHONY: install demo test lint bench clean services messages screens

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Server binaries the test suite starts as throwaway instances (PostgreSQL).
services:
	@bash scripts/ensure-services.sh

demo: $(STAMP)
	@bash scripts/ensure-services.sh demo  # jq and curl, which the README's commands use
	mkdir -p var
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) $(BIN)/socialcredit init
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) $(BIN)/socialcredit generate --individuals 100000 --enterprises 5000 --seed 2026
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) $(BIN)/socialcredit report --year $$(date +%Y) --out var/report --publish  # JSON, HTML with charts, CSV; served
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) SC=$(BIN)/socialcredit scripts/demo_workbenches.sh  # issue 12: accounts and addresses
	@# A local mail catcher (127.0.0.1:1025, mail in var/mail), the notice worker and the
	@# scoring follower (rescores residents whose records change) run beside the server and
	@# stop with it; read mail with `socialcredit mailbox`.
	$(BIN)/socialcredit mailcatcher --dir var/mail --port 1025 & MC=$$!; \
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) $(BIN)/socialcredit notices work & NW=$$!; \
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) $(BIN)/socialcredit scores follow --watch & SF=$$!; \
	trap 'kill $$MC $$NW $$SF 2>/dev/null' EXIT INT TERM; \
	SOCIALCREDIT_DATABASE_URL=$(DEMO_URL) $(BIN)/socialcredit serve --demo-keys --credentials var/demo-credentials.json

test: $(STAMP) services
	$(BIN)/pytest -q -m "not fuzz"
	@# the API fuzzed from its OpenAPI document against a real server (bounded: ~1 minute)
	$(BIN)/pytest -q -m fuzz tests/e2e/test_api_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports  # the architecture contracts in pyproject.toml

# The benchmarks need the test servers and wrk (bench/screening_http.py): installed if missing.
bench: $(STAMP)
	@bash scripts/ensure-services.sh bench
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

# Page catalogues (web/i18n.py): extract every marked string, merge into both catalogues, then
# translate the new zh_Hans entries; tests/unit/test_i18n.py fails while any is empty.
LOCALE := src/socialcredit/web/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F src/socialcredit/web/babel.cfg -o $(LOCALE)/messages.pot --no-location --omit-header --sort-output .
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-fuzzy-matching --ignore-obsolete --width 100

# Screenshots of each staff page (375 px and desktop) and each citizen portal page (375 px) in
# Chinese, kept in docs/screens/.
screens: $(STAMP) services
	SOCIALCREDIT_SCREENS_DIR=docs/screens $(BIN)/pytest -q tests/browser -k screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

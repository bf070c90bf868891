# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint bench translations clean help

help:
	@echo "make run    start the notifier (console, workers, embedded Valkey, sandbox providers)"
	@echo "make test   install the test extra and run the test suite"
	@echo "make bench  run the benchmarks (prints figures; not part of make test)"
	@echo "make translations  extract, update and compile the Swedish catalog"

# pip and setuptools talk a lot; their output goes to $(VENV)/install.log and is shown only
# when the install fails, so `make run` ends with the notifier's own words (the demo password).
$(BIN)/python:
	@echo "Creating $(VENV) ..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	@rm -f $(VENV)/.installed-*
	@echo "Installing notifier and its dependencies into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/pip install --quiet -e '.[test]' >> $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $@

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/notifier up

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check notifier workers tests || true

# Extract the texts marked for translation, merge them into the Swedish catalog, compile it.
translations: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o notifier/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel -q update -i notifier/translations/messages.pot -d notifier/translations -l sv --no-fuzzy-matching
	$(BIN)/pybabel -q compile -d notifier/translations --statistics

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info

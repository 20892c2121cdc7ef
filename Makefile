# One entry point. `make book` builds the rendered book, `make test` runs every test.
# Both create .venv from requirements.txt when it is missing (or older than requirements.txt).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= notebooks/*.ipynb

.PHONY: venv book test test-fast execute lab clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

venv: $(STAMP)

## the rendered book in _build/html, with zero warnings
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

## every test: pytest over tests/ and nbval (strict) over every notebook
test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider

## only the package's unit tests (seconds)
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

## re-execute notebooks in place at this device's scale (NB=notebooks/01_*.ipynb for one)
execute: $(STAMP)
	$(BIN)/python -m vlmlab.execute $(NB)

## open the chapters in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf _build

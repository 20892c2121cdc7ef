# One entry point. `make book` builds the rendered book, `make test` runs every test.
# Both create .venv from requirements.txt when it is missing (or older than requirements.txt).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= notebooks/*.ipynb
CHROMIUM ?= /usr/bin/chromium
SLOW_TESTS := --ignore=tests/test_browser.py --ignore=tests/test_colab_setup.py

.PHONY: venv book test test-fast test-browser browser-deps provenance execute lab clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

venv: $(STAMP)

## the rendered book in _build/html, with zero warnings (.build-ok marks a build that succeeded)
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	touch _build/html/.build-ok

## every test: pytest over tests/ (with the real-browser check of the built book and the Colab
## set-up check) and nbval (strict) over every notebook
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env -p no:cacheprovider

## only the package's unit tests (seconds): no browser, no Colab stand-in
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider $(SLOW_TESTS)

## the rendered book in headless Chromium (builds it first when stale); screenshots in _build/screenshots
test-browser: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests/test_browser.py -q -p no:cacheprovider

## what the browser test needs beside requirements.txt: Debian's chromium (apt-get, only when missing)
browser-deps: $(STAMP)
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## regenerate book/provenance.md from the notebooks' metadata (make execute does it too)
provenance: $(STAMP)
	$(BIN)/python -m vlmlab.provenance_page

## re-execute notebooks in place at this device's scale (NB=notebooks/01_*.ipynb for one)
execute: $(STAMP)
	$(BIN)/python -m vlmlab.execute $(NB)

## open the chapters in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf _build .venv-colab

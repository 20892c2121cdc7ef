# One entry point. `make book` builds the rendered book, `make test` runs every test.
# Both create .venv from the lock, requirements.txt, when it is missing (or older than the lock).
# requirements.txt is compiled from requirements.in by `make lock`: exact versions with hashes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= notebooks/*.ipynb
CHROMIUM ?= /usr/bin/chromium
SLOW_TESTS := --ignore=tests/test_browser.py --ignore=tests/test_colab_setup.py --ignore=tests/test_calculator_page.py

.PHONY: venv lock test-latest test-floor book test test-fast test-browser browser-deps provenance execute lab clean mutation

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)

## recompile the lock (requirements.txt) from requirements.in: after editing requirements.in, or to
## take new releases on purpose (then run `make test`, and commit both files together)
LOCK_VENV := .venv-lock
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && \
	  $(LOCK_VENV)/bin/python -m pip install -q 'pip-tools==7.7.0'; }
	$(LOCK_VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --no-strip-extras \
	  --no-emit-index-url --no-emit-trusted-host --no-emit-find-links \
	  --output-file=requirements.txt requirements.in

## the unit tests in a throw-away environment built from pyproject's ranges at their newest
## releases (not CI's gate: it tells us that a new release broke something before a reader finds it).
## torch: LATEST_TORCH (default: the CPU wheel on this machine; `make test-latest LATEST_TORCH=torch`
## takes the newest CUDA build, several GB).
LATEST_TORCH ?= torch==2.13.0
test-latest:
	$(PYTHON) tools/test_ranges.py latest --torch "$(LATEST_TORCH)"

## the same at the floors that pyproject declares (Python, numpy, pandas, matplotlib, torch,
## transformers): proves the lower ends of the ranges
test-floor:
	$(PYTHON) tools/test_ranges.py floor

## the rendered book in _build/html, with zero warnings (.build-ok marks a build that succeeded)
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python tools/vendor_assets.py --into _build/html
	touch _build/html/.build-ok

## every test: pytest over tests/ (with the real-browser check of the built book and the Colab
## set-up check) and nbval (strict) over every notebook
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadfile tests notebooks --nbval --nbval-current-env -p no:cacheprovider

## only the package's unit tests (seconds): no browser, no Colab stand-in
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider -m "not slow" $(SLOW_TESTS)

## mutation testing of the analytic core (slow, not part of CI): mutmut 3 with setup.cfg's
## [mutmut] section, 2 workers; report in _build/mutation/report.md (rm -rf mutants for a fresh run)
mutation: $(STAMP)
	@test -x $(BIN)/mutmut || { echo "mutmut is missing: $(BIN)/pip install mutmut (3.x)"; exit 1; }
	$(BIN)/mutmut run --max-children 2
	$(BIN)/python tools/mutation_report.py --mutants mutants --out _build/mutation/report.md

## the rendered book in headless Chromium (builds it first when stale); screenshots in _build/screenshots
test-browser: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests/test_browser.py tests/test_calculator_page.py -q -p no:cacheprovider

## what the browser test needs beside requirements.txt: Debian's chromium (apt-get, only when missing)
browser-deps: $(STAMP)
	@test -x $(CHROMIUM) || { echo "installing chromium (apt-get)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## regenerate book/provenance.md from the notebooks' metadata (make execute does it too)
provenance: $(STAMP)
	$(BIN)/python -m vlmlab.notebook.provenance_page

## re-execute notebooks in place at this device's scale (NB=notebooks/01_*.ipynb for one)
execute: $(STAMP)
	$(BIN)/python -m vlmlab.notebook.execute $(NB)

## open the chapters in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf _build .venv-colab

# Two commands for a fresh clone (see README.md):
#   make dashboard   set up .venv and start the dashboard on http://localhost:8501
#   make test        set up .venv and run lint and the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# Extra streamlit arguments, e.g. ARGS="--server.address 0.0.0.0 -- --read-only"
ARGS ?=

.PHONY: dashboard test lint setup system-deps clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@# Put the project on the venv's path, so `.venv/bin/python -m studies` works from anywhere.
	$(PY) -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'wdlab.pth').write_text('$(CURDIR)\\n')"
	touch $@

setup: $(VENV)/.installed

dashboard: setup
	$(PY) -m streamlit run app.py --server.port $(PORT) $(ARGS)

system-deps:
	./scripts/system-deps.sh

lint: setup
	$(VENV)/bin/ruff check .

test: lint system-deps
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

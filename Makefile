# DeepProspect. `make demo` runs the main job, `make test` the test suite; both set up first.
PYTHON := /usr/bin/python3
export QT_QPA_PLATFORM := offscreen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup install test demo bench screenshots

setup:
	@bash scripts/setup.sh

install:
	@bash scripts/install_plugin.sh

# The engine's own Python (its virtual environment; engine_environment.py says where).
ENGINE_PYTHON = $(shell $(PYTHON) engine_environment.py python)

# Two suites: the engine's (core/, models/, engine/) in its own environment, then the QGIS
# front's (algorithms, dialogs, dock, installer) in QGIS's Python, both over the same checkout.
test: setup
	$(ENGINE_PYTHON) -m pytest -q -p no:cacheprovider tests/engine
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/qgis

demo: setup
	$(PYTHON) scripts/demo.py

bench: setup
	@set -e; for benchmark in benchmarks/bench_*.py; do echo "== $$benchmark"; $(PYTHON) $$benchmark; done

screenshots: setup
	DEEPPROSPECT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PYTHON) -m pytest -q -p no:cacheprovider tests/qgis -k screenshot

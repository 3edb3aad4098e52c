# DeepProspect. `make demo` runs the main job, `make test` the test suite; both set up first.
PYTHON := /usr/bin/python3
export QT_QPA_PLATFORM := offscreen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup install test demo bench screenshots

setup:
	@bash scripts/setup.sh

install:
	@bash scripts/install_plugin.sh

test: setup
	$(PYTHON) -m pytest -q -p no:cacheprovider tests

demo: setup
	$(PYTHON) scripts/demo.py

bench: setup
	@set -e; for benchmark in benchmarks/bench_*.py; do echo "== $$benchmark"; $(PYTHON) $$benchmark; done

screenshots: setup
	DEEPPROSPECT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PYTHON) -m pytest -q -p no:cacheprovider tests -k screenshot

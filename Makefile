# DeepProspect. `make demo` runs the main job, `make test` the test suite; both set up first.
PYTHON := /usr/bin/python3
export QT_QPA_PLATFORM := offscreen
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup install test demo demo-check bench bench-full screenshots manual check-platforms check-qgis340 bad-input-table

setup:
	@bash scripts/setup.sh

install:
	@bash scripts/install_plugin.sh

# Not in CI (network, minutes): the lock resolves on Windows/macOS/Linux x Python 3.9-3.13.
check-platforms:
	@bash scripts/check_platforms.sh

# Not in CI (root, minutes): setup and the suite on Debian 13 (QGIS 3.40, Python 3.13) in a chroot.
check-qgis340:
	@bash scripts/check_qgis340.sh

# The engine's own Python (its virtual environment; engine_environment.py says where).
ENGINE_PYTHON = $(shell $(PYTHON) engine_environment.py python)

# Two suites: the engine's (core/, models/, engine/) in its own environment, then the QGIS
# front's (algorithms, dialogs, dock, installer) in QGIS's Python, both over the same checkout.
test: setup
	$(ENGINE_PYTHON) -m pytest -q -p no:cacheprovider tests/engine
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/qgis

demo: setup
	$(PYTHON) scripts/demo.py

# The full demo (about 5 minutes, so not in `make test`), then its log (demo_output/demo.log: every
# step's Processing messages, QGIS's and the engine's standard error) checked for anything at warning
# level from DeepProspect (scripts/demo_log.py). CI runs it after `make test`.
demo-check: demo
	$(PYTHON) scripts/demo_log.py demo_output/demo.log

# Every benchmark, each line a ratio to an anchor measured in the same run. `make bench`: quick
# sizes, under 15 minutes on 2 cores; `make bench-full`: the long sizes of the notes (about an hour).
BENCHMARKS = set -e; started=$$(date +%s); \
	echo "CPU cores: $$(nproc) usable of $$(getconf _NPROCESSORS_ONLN); load average $$(cut -d' ' -f1 /proc/loadavg)"; \
	failed=""; for benchmark in benchmarks/bench_*.py; do echo "== $$benchmark"; \
		$(PYTHON) $$benchmark || failed="$$failed $$benchmark"; done; \
	echo "== all benchmarks: $$(( $$(date +%s) - started )) s"; \
	if [ -n "$$failed" ]; then echo "== failed:$$failed"; exit 1; fi

bench: setup
	@$(BENCHMARKS)

bench-full: setup
	@export DEEPPROSPECT_BENCH_FULL=1; $(BENCHMARKS)

# Pictures for the README and docs/manual: every algorithm's dialog (in a session of its own, so they
# open on an empty project as a new user's do), the dock, then (after `make demo`) the demo project
# and its results.
screenshots: setup
	DEEPPROSPECT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PYTHON) -m pytest -q -p no:cacheprovider tests/qgis/test_manual.py -k screenshot
	DEEPPROSPECT_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PYTHON) -m pytest -q -p no:cacheprovider tests/qgis -k "screenshot and not test_manual"
	$(PYTHON) scripts/screenshots.py

# docs/manual's generated parts (parameters in the dialogs' words, the bad-input messages) refreshed.
manual:
	$(PYTHON) scripts/manual_tables.py

# docs/bad_input.md from the bad-input tests (what each case really says).
bad-input-table: setup
	$(PYTHON) scripts/bad_input_table.py

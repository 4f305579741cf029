# One entry point for the README, developers and CI.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

UI_STAMP := src/suricate/server/web/assets/.built-stamp
# Every file under ui/src, however deep: a change to any of them rebuilds the UI.
UI_SOURCES := $(shell find ui/src -type f)

.PHONY: setup serve test test-fast lint lock bench clean ui

setup: $(STAMP) $(UI_STAMP)

## Build the web UI (Node.js and npm; packages from the npm registry, pinned by package-lock.json).
ui: $(UI_STAMP)

$(UI_STAMP): ui/package.json ui/package-lock.json ui/build.mjs $(UI_SOURCES)
	@echo "== set-up: building the web UI (npm packages, then esbuild; about 30 s the first time)"
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	cd ui && npm run build --silent
	touch $(UI_STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "== set-up, once: Debian packages (bubblewrap...), a Python venv in $(VENV) and the pinned"
	@echo "   dependencies (about 2-3 minutes on 2 cores; later runs skip it)"
	scripts/system-packages.sh
	command -v npm >/dev/null || { echo "Node.js and npm are needed to build the web UI" >&2; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## Run the server with the football demo, on embedded defaults (./suricate-data).
## `make serve PORT=8899` (or SURICATE_PORT=8899) listens on another port.
serve: setup
	@echo "== starting the demo server: the login is printed first, then the demo loads behind it"
	$(if $(PORT),SURICATE_PORT=$(PORT) )$(VENV)/bin/suricate demo

## The whole suite: SQLite, and PostgreSQL when reachable (required when CI is set).
test: setup
	scripts/system-packages.sh --browser
	cd ui && npm test --silent
	$(PY) -m pytest

## Skip the tests marked slow.
test-fast: setup
	scripts/system-packages.sh --browser
	cd ui && npm test --silent
	$(PY) -m pytest -m "not slow"

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	cd ui && npm run --silent lint

## Re-pin constraints.txt from a fresh install of the declared ranges.
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[dev,bench]'
	{ echo "# Tested versions of every dependency (pip install -c constraints.txt -e '.[dev,bench]')."; \
	  echo "# Regenerate with: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .lock-venv

bench: setup
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(PY) bench/bench_objects.py
	$(PY) bench/bench_kernels.py
	$(PY) bench/bench_runs.py
	$(PY) bench/bench_processors.py
	$(PY) bench/bench_density.py
	$(PY) bench/bench_frontends.py --seconds 15 --clients 32

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache ui/node_modules src/suricate/server/web/assets

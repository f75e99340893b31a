# Two commands after cloning: `make demo` (the main job on the embedded store) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SITES  ?= 2000
SEED   ?= 7
DEMO   ?= demo
PORT   ?= 8000

.PHONY: setup demo test test-fast bench neo4j-start neo4j-stop lint clean

# A virtualenv with the package and its dev tools; redone only when pyproject.toml changes.
$(BIN)/inventory: pyproject.toml setup.py importers/_fastimport.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/inventory

# Generate the sample Bortala network, import it into ./demo/inventory.db, print a summary,
# then serve the web application on http://127.0.0.1:8000/ (NOSERVE=1 stops before serving).
demo: setup
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN)/inventory generate --sites $(SITES) --seed $(SEED) $(DEMO)/export
	$(BIN)/inventory init --store $(DEMO)/inventory.db
	$(BIN)/inventory import --store $(DEMO)/inventory.db $(DEMO)/export
	$(BIN)/inventory stats --store $(DEMO)/inventory.db
	$(BIN)/inventory audit --store $(DEMO)/inventory.db | tail -n 7
	@echo "planted defects: $(DEMO)/export/manifest.json"
ifndef NOSERVE
	$(BIN)/inventory serve --store $(DEMO)/inventory.db --port $(PORT)
endif

# Every test, the Neo4j half included: tests/conftest.py starts scripts/neo4j and stops it.
test: setup
	scripts/system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest

# The embedded-store half only, for a quick loop while editing.
test-fast: setup
	$(BIN)/pytest -m "not neo4j"

# Benchmarks at 1k, 10k, 100k sites (BENCH_ARGS=--huge adds 1M): a table and bench/results/<date>.json.
# Starts its own Neo4j (state in bench/.work/neo4j); needs wrk for the site-page step.
bench: setup
	$(BIN)/python -m bench.run $(BENCH_ARGS)

neo4j-start:
	scripts/neo4j start

neo4j-stop:
	scripts/neo4j stop

lint: setup
	$(BIN)/ruff check .

clean:
	scripts/neo4j stop || true
	rm -rf $(VENV) $(DEMO) .neo4j .pytest_cache

# Two commands do everything: `make demo` (the main job) and `make test` (the test suite).
# Each creates .venv from this project's files on first use and refreshes it when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN ?= runs/digits_lif_mlp-$(shell date +%Y%m%d-%H%M%S)
XYLO_RUN ?= runs/xylo_digits-$(shell date +%Y%m%d-%H%M%S)

.PHONY: demo test docs notebooks lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,data,train,sweep,nir,evolve,notebooks,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spikejax train experiments/digits_lif_mlp/config.py --run-dir $(RUN) --quiet
	$(BIN)/spikejax deploy $(RUN) --chip loihi --brief
	$(BIN)/python experiments/xylo_digits/prepare.py
	$(BIN)/spikejax train experiments/xylo_digits/config.py --run-dir $(XYLO_RUN) --quiet
	$(BIN)/spikejax deploy $(XYLO_RUN) --chip xylo --strict --brief
	$(BIN)/spikejax energy $(RUN) --profile cmos45nm_fp32 --profile loihi --out $(RUN)/energy --brief
	$(BIN)/spikejax summary $(RUN) $(XYLO_RUN)

# Two pytest workers (pytest-xdist): the suite is dominated by XLA compilations, one per process.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2
	$(MAKE) docs

# The documentation site, built offline into site/; --strict: a broken reference or link fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The .ipynb of every notebook, generated from its .py source (outputs stripped; cell ids kept).
notebooks: $(STAMP)
	$(BIN)/jupytext --quiet --update --to ipynb notebooks/[0-9]*.py

lint: $(STAMP)
	$(BIN)/ruff check spikejax tests experiments benchmarks
	$(BIN)/ruff format --check spikejax tests experiments benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache site .cache

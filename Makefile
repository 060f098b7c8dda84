# `make demo` and `make test` each create the virtual environment they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= multirun/demo-$(shell date +%Y%m%d-%H%M%S)

.PHONY: demo test test-fast install clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## The main job: the CPU-sized RNN-vs-LSTM sweep, then its report.
demo: $(STAMP)
	$(BIN)/sweeplab -m experiment=quick hydra.sweep.dir=$(DEMO_DIR)
	@if [ -f multirun_analysis/__main__.py ]; then $(BIN)/multirun-analysis $(DEMO_DIR); fi
	@echo "Demo sweep: $(DEMO_DIR)  (one job dir per run; report.html when the analysis ran)"

## The test suite (a few minutes on 2 CPU cores).
test: $(STAMP)
	$(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)

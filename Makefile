# `make demo` and `make test` each create the virtual environment they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `:=` evaluates the timestamp once, so every line of the demo names the same directory.
DEMO_DIR := $(or $(DEMO_DIR),multirun/demo-$(shell date +%Y%m%d-%H%M%S))

.PHONY: demo test install clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## The main job: the CPU-sized RNN-vs-LSTM sweep, then its report.
demo: $(STAMP)
	@# The preset's callback writes the report, but Hydra skips it when a job failed: then the
	@# analysis runs here (not twice otherwise), and make returns the sweep's status.
	$(BIN)/sweeplab -m experiment=quick hydra.sweep.dir=$(DEMO_DIR); status=$$?; \
	{ [ $$status -eq 0 ] || $(BIN)/multirun-analysis -q $(DEMO_DIR); } && \
	echo "Demo sweep: $(DEMO_DIR)/ (one dir per job), report: $(DEMO_DIR)/report.html"; \
	exit $$status

## Lint, format check and the test suite (a few minutes on 2 CPU cores).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)

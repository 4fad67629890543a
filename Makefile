# Two commands do all the set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve test lint clean system-packages bench-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# setuptools warns on every editable install that a folder named like the package could shadow
# it; here that folder is the package, so the warning only hides what matters on the screen.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"

$(STAMP): pyproject.toml | $(BIN)/python
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(QUIET_EDITABLE) $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

serve: $(STAMP)
	$(BIN)/messenger serve $(ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check messenger tests benchmarks
	$(BIN)/ruff format --check messenger tests benchmarks

# The system's own packages the tests need (Debian's chromium for the browser tests, redis-server
# for the cluster tests, irssi for the IRC port's real-client test, ngircd for the benchmark's IRC
# side), through apt-get when missing and allowed; otherwise it says how to get them and those
# tests skip.
system-packages:
	tools/ensure-system-packages chromium ngircd redis-server irssi

# What the benchmark needs besides the venv: ngircd, the C IRC server that
# `benchmarks/fanout.py --server ngircd` compares messenger with (benchmarks/README.md).
bench-deps: $(TEST_STAMP)
	tools/ensure-system-packages ngircd

# The browser tests run after the rest, in one process with one browser: run beside the others on
# 2 cores, chromium starved the command-line tests' deadlines.
# Both runs always run; the target fails if either did.
test: lint system-packages
	$(BIN)/python -m pytest -n 4 --ignore=tests/browser; status=$$?; \
	$(BIN)/python -m pytest tests/browser && exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info

# The front door: `make demo` tries the guardrail locally, `make test` is what CI runs.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
BIN := $(VENV)/bin
# A Python of 3.12 or newer (the Lambda runs 3.13): on PATH, or through pyenv if it has one.
PYTHON ?= $(shell for c in python3.13 python3.12; do $$c -c '' >/dev/null 2>&1 && { command -v $$c; exit 0; }; done; \
	for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[23]\.[0-9]+$$' | sort -rV); do \
	echo "$$(pyenv root)/versions/$$v/bin/python3"; exit 0; done; echo python3)
# Test processes: CI's machines have 2 cores; each test file runs whole in one of them.
TEST_WORKERS ?= 2
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_DEPRECATED := quiet

.PHONY: help setup demo synth docs lint test bench fuzz clean

help:
	@echo "make demo   set up, synthesize the stacks, replay the sample events and sweep an emulated organization"
	@echo "make test   set up and run lint, type checks, the docs build, cdk synth and the whole test suite"
	@echo "make docs   build the documentation site into build/site/ (strict: a broken link fails)"
	@echo "make bench  print performance figures (API calls per event, cold start, throughput, asset size)"
	@echo "make fuzz   run the enforcement model long (200 examples of 60 steps; about an hour)"

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -e .
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(BIN)/.installed node_modules/.installed

# No AWS credentials are needed or used to synthesize. What the CLI says on success (where the
# templates went, every stack's name, the asset it bundled) is left out; warnings and errors stay.
SYNTH_CHATTER := ^(Successfully synthesized to |Supply a stack id |Bundling asset )
synth: setup
	@env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
		PATH="$(CURDIR)/$(BIN):$$PATH" npx cdk synth --quiet 2>&1 | { grep -Ev '$(SYNTH_CHATTER)' || true; }; \
		exit $${PIPESTATUS[0]}
	@echo "templates written to cdk.out/"

# The emulated sweep has an account it cannot read, on purpose: its exit status 1 says so.
demo: synth
	$(BIN)/guardrail replay $(EVENTS)
	$(BIN)/guardrail sweep --emulated || [ $$? -eq 1 ]

# The documentation site (mkdocs.yml): strict, so a broken link or anchor, or a page left out of
# the navigation, fails the build. Its INFO lines are left out here; `--quiet` would not do: it
# stops strict mode from counting the warnings.
docs: setup
	@$(BIN)/mkdocs build --strict 2>&1 | { grep -v '^INFO ' || true; }; exit $${PIPESTATUS[0]}
	@echo "documentation site written to build/site/"

lint: setup docs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint synth
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --cov=guardrail --cov-report=term-missing:skip-covered

bench: setup
	$(BIN)/python -m benchmarks

# The stateful model of enforcement, run long; CI runs a few examples of it with the suite.
fuzz: setup
	GUARDRAIL_MODEL_RANDOM=1 GUARDRAIL_MODEL_EXAMPLES=$${GUARDRAIL_MODEL_EXAMPLES:-200} \
		GUARDRAIL_MODEL_STEPS=$${GUARDRAIL_MODEL_STEPS:-60} \
		$(BIN)/pytest tests/model -p no:cacheprovider --no-permissions --hypothesis-show-statistics

# Everything setup, synth, test and bench leave behind (build/ holds the function's cached asset).
clean:
	rm -rf $(VENV) node_modules cdk.out build *.egg-info .pytest_cache .mypy_cache .ruff_cache \
		.hypothesis .coverage .coverage.* htmlcov
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +

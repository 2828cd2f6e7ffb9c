# tasklogs: `make run` starts the local stack, `make test` runs every test. `make help` lists all.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13 (the Lambda runtime) when present, else any python3 >= 3.11.
BOOT_PYTHON = $(shell PYTHON="$(PYTHON)" scripts/find-python)
# The venv's bin first: sam build then finds its python3.13 there.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv run test lint build deploy smoke events openapi bench bench-tracing bench-auth load clean

# make lint's shellcheck: CI's entry point and every script that starts with a sh or bash shebang.
SHELL_SCRIPTS = .ci/run $(shell grep -lsE '^\#!(/usr)?/bin/(env )?(ba)?sh' scripts/*)

# make deploy's environment: a section of samconfig.toml.
ENV ?= dev

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## Create .venv with every dependency (what make run needs, then the tools)

# make run installs only what the local stack and the CLI need; everything else adds the tools.
RUN_REQUIREMENTS = requirements-run.txt layers/core/requirements.txt layers/scanner/requirements.txt functions/user_authorizer/requirements.txt cli/pyproject.toml

$(VENV)/.installed-run: $(RUN_REQUIREMENTS)
	@test -x $(PY) || "$(BOOT_PYTHON)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-run.txt
	@touch $@

$(VENV)/.installed: requirements-dev.txt $(VENV)/.installed-run
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed-run ## Run the service locally (moto, fake AgentAPI, demo tasks, API on 127.0.0.1:3000)
	$(PY) -m devstack run

test: venv ## Run the whole test suite (unit, integration, template, sam build, local stack)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff and its formatter, shellcheck, mypy on the product code, cfn-lint and sam validate --lint, the workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/sam validate --lint --template template.yaml
	scripts/lint-workflows

build: venv ## sam build (needs python3.13; no Docker), then precompile the bytecode Lambda cannot write
	$(VENV)/bin/sam build --template template.yaml
	python3.13 scripts/precompile_build.py .aws-sam/build

deploy: venv ## Check samconfig.toml's ENV (dev or prod), make build, then sam deploy it: make deploy ENV=prod
	$(PY) scripts/deploy_ready.py $(ENV)
	$(MAKE) build
	$(VENV)/bin/sam deploy --config-env $(ENV)

smoke: venv ## Read-only checks of a deployed stack, to gate on: make smoke URL=https://... TOKEN=<jwt> TASK=<name>
	@$(PY) scripts/smoke.py $(if $(URL),--url "$(URL)") $(if $(TOKEN),--token "$(TOKEN)") $(if $(TASK),--task "$(TASK)")

events: venv ## Rewrite events/*.json from the demo catalogue
	$(PY) -m devstack events

openapi: venv ## Rewrite docs/openapi.json and the tables of docs/api.md from the code
	$(PY) -m devstack openapi

bench: venv ## Performance figures vs same-run baselines, and whether each target holds (docs/performance.md)
	$(PY) bench/run_all.py

bench-tracing: venv ## The tracing options side by side (docs/tracing.md); installs them into .bench/tracing
	@test -d .bench/tracing || $(PY) -m pip install --quiet --disable-pip-version-check --no-deps \
		--target .bench/tracing -r bench/requirements-tracing.txt
	$(PY) bench/tracing_options.py

bench-auth: venv ## What the user authorizer costs per request, warm and cold (docs/authorization.md)
	$(PY) bench/authorizer.py

load: venv ## Loopback load test of a fresh local stack (5,000 requests at concurrency 16)
	$(PY) -m tests.tools.load --requests 5000 --concurrency 16

clean: ## Remove the venv and build output
	rm -rf $(VENV) .aws-sam .pytest_cache

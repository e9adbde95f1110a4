# connect-pulse: `make demo` runs the whole chain locally, `make test` runs every test.
# Both install what they need into .venv (moto, boto3, the AWS CLI, cfn-lint, cargo-lambda).

SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0

.PHONY: help venv test lint build demo watch invoke deploy bench clean

help:
	@echo "make demo    run a scenario through the real Lambda against local emulators"
	@echo "make test    run every test (starts and stops its own emulators)"
	@echo "make lint    rustfmt, clippy (warnings denied) and cfn-lint"
	@echo "make build   arm64 release build of the Lambda (target/lambda/connect-pulse/bootstrap)"
	@echo "make watch   serve the Lambda locally with cargo lambda (settings from events/local.env)"
	@echo "make invoke  send events/scheduled-event.json to 'make watch'"
	@echo "make deploy  sam build + sam deploy --guided"
	@echo "make bench   criterion benchmarks"

venv: $(VENV)/.installed

$(VENV)/.installed: tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

test: venv
	cargo test --workspace

lint: venv
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cfn-lint infra/template.yaml

build: venv
	cargo lambda build --release --arm64 --bin connect-pulse

demo: venv
	cargo build --workspace --bins
	$(PYTHON) tools/demo.py

watch: venv
	cargo lambda watch --env-file events/local.env --bin connect-pulse

invoke: venv
	cargo lambda invoke connect-pulse --data-file events/scheduled-event.json

deploy: venv
	@test -x .venv-sam/bin/sam || (python3 -m venv .venv-sam && .venv-sam/bin/pip install --quiet aws-sam-cli==1.170.0)
	cd infra && ../.venv-sam/bin/sam build && ../.venv-sam/bin/sam deploy --guided

bench:
	cargo bench --workspace

clean:
	cargo clean
	rm -rf $(VENV) .venv-sam infra/.aws-sam

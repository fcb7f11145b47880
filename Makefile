# The two commands: `make run` (the whole stack, foreground) and `make test` (every test).
# `make up` / `make down` do the same as run, in the background. See README.md.
PY := .venv/bin/python
DIGITS ?=

NAME ?= wang
# INSTANCES=2: an active service instance and a standby behind a front on port 8000 (R21).
INSTANCES ?=

.PHONY: bootstrap run up down status call agent test provision

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	@$(PY) -m stack run $(if $(INSTANCES),--instances $(INSTANCES))

up: bootstrap
	@$(PY) -m stack up $(if $(INSTANCES),--instances $(INSTANCES))

down: bootstrap
	@$(PY) -m stack down

status: bootstrap
	@$(PY) -m stack status

call: bootstrap
	@$(PY) -m phones call --digits "$(DIGITS)"

# An agent's desk phone (SIPp), ready for calls until Ctrl-C: `make call DIGITS=0` reaches it.
agent: bootstrap
	@$(PY) -m phones agent --name "$(NAME)" $(if $(REGISTER),--register "$(REGISTER)")

provision: bootstrap
	@$(PY) -m stack provision

# Fast tests first (pure, then Postgres), then the real Asterisk with SIPp phones.
test: bootstrap
	@$(PY) -m pytest -q tests/unit tests/db tests/e2e

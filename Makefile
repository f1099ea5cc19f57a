# The two commands a new user needs (README.md): `make run` and `make test`.
# Both set up .venv first when needed (tools/setup_env.sh is idempotent: a rerun with
# nothing changed only verifies the environment, in seconds).
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_ARGS ?=
TEST_ARGS ?=

.PHONY: setup run test clean-run

setup:
	@bash tools/setup_env.sh

run: setup
	$(VENV)/bin/stad run $(RUN_ARGS)

# the layer contract (pyproject.toml [tool.importlinter]) and ruff, then the tests
test: setup
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff check stad tests tools demo
	$(PY) -m pytest $(TEST_ARGS)

clean-run:
	rm -rf work_dirs/run

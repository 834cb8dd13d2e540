# escalate: `make dev` runs the whole system, `make test` runs every test.
# Both install what they need (Go modules, the Temporal CLI, workflowcheck)
# and start PostgreSQL if it is not running.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL_CLI_VERSION := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0
export POLICY_DIR ?= policies/drill
FUZZTIME ?= 10s

.PHONY: dev test fuzz lint maildev unit integration build postgres record-histories compose-config clean

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

## test: formatting, vet, workflowcheck, unit, workflow, replay and integration tests, short fuzzing
test: $(BIN)/temporal $(BIN)/workflowcheck $(MAILDEV) postgres lint
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

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

$(BIN)/workflowcheck:
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

## record-histories: re-record the workflow histories the replay tests use
record-histories: $(BIN)/temporal postgres
	ESCALATE_RECORD_HISTORY=$(CURDIR)/workflows/testdata $(GO) test -count=1 ./integration/

compose-config:
	ESCALATE_ADMIN_TOKEN=$${ESCALATE_ADMIN_TOKEN:-check-only} CODEC_KEYS=$${CODEC_KEYS:-check-only} docker-compose config -q

clean:
	rm -rf $(BIN) .dev

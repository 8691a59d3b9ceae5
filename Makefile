# Vigil's build and test entry points. `make test` is what CI runs.
GO          ?= go
STATICCHECK_VERSION := v0.8.2
TOOLS_BIN   := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(TOOLS_BIN)/staticcheck
# goolm is mautrix's pure-Go end-to-end encryption; without it the Matrix
# adapter builds but refuses to start (docs/MATRIX.md).
GOTAGS      ?= goolm

.PHONY: all build test lint fmt-check tidy-check vet staticcheck unit bench fuzz run clean

all: build

build:
	$(GO) build -tags $(GOTAGS) ./...

run:
	$(GO) run -tags $(GOTAGS) ./cmd/vigil

# The full check: formatting, vet, staticcheck, then every test with the race
# detector against a real redis-server, a Redis Cluster (3+3) and a Sentinel
# setup (scripts/with-redis-topologies.sh). Integration tests may not skip here
# (VIGIL_REQUIRE_INTEGRATION=1): a missing dependency fails the run. The
# Matrix tests get a throwaway Dendrite, built once into ~/.cache/vigil.
test: fmt-check tidy-check vet staticcheck
	@scripts/ensure-redis.sh
	@scripts/ensure-postgres.sh
	@scripts/ensure-chromium.sh
	@scripts/build-dendrite.sh >/dev/null
	VIGIL_REQUIRE_INTEGRATION=1 scripts/with-redis.sh scripts/with-redis-topologies.sh scripts/with-dendrite.sh $(GO) test -race -count=1 -tags $(GOTAGS) ./...

# Quick tests with no Redis: integration tests skip and say why.
unit:
	$(GO) test ./...

lint: fmt-check tidy-check vet staticcheck

# go.mod and go.sum say exactly what the code imports.
tidy-check:
	$(GO) mod tidy -diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags $(GOTAGS) ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

staticcheck: $(STATICCHECK)
	$(STATICCHECK) -tags $(GOTAGS) ./...

# Benchmarks (numbers go to docs/BENCHMARKS.md), all against one throwaway
# redis-server: the Go benchmarks (store primitives with the raw PING round
# trip, router dispatch, reminders among 100,000 open items), then the
# vigil-bench scenarios (commands, intake API, Slack acknowledgement under
# load, the real binary's time to ready and idle memory). Each prints the
# raw Redis round trip of its run beside its figures.
bench:
	@scripts/ensure-redis.sh
	GO=$(GO) GOTAGS=$(GOTAGS) scripts/bench.sh

# Fuzz the command-line parser, the untrusted-text markers and each chat
# renderer on hostile input; new corpus entries land in the Go cache,
# failures in the package's testdata/fuzz (commit those).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./bot/ -run '^$$' -fuzz '^FuzzSplitArgs$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bot/ -run '^$$' -fuzz '^FuzzParseCommand$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bot/ -run '^$$' -fuzz '^FuzzSegments$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapters/slack/ -run '^$$' -fuzz '^FuzzRenderUntrusted$$' -fuzztime $(FUZZTIME)
	$(GO) test -tags $(GOTAGS) ./adapters/matrix/ -run '^$$' -fuzz '^FuzzRenderUntrusted$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapters/console/ -run '^$$' -fuzz '^FuzzRenderUntrusted$$' -fuzztime $(FUZZTIME)
	$(GO) test ./bot/intake/ -run '^$$' -fuzz '^FuzzCleanText$$' -fuzztime $(FUZZTIME)

clean:
	$(GO) clean -testcache

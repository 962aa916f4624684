# mcpmesh — run `make help` for the targets.

GO        ?= go
NPM       ?= npm
BIN       := bin/mcpmesh
PKGS      := ./...
E2E       := ./cmd/mcpmesh
# Jaeger, the trace receiver of the trace e2e test (TestTraceAcrossHop),
# built once from its own module (scripts/jaeger/go.mod).
JAEGER    := scripts/bin/jaeger
# Generous per-package bound: the whole suite takes a few minutes on 2 cores.
TEST_TIMEOUT ?= 15m
BENCHTIME    ?= 2s
# Benchmarks whose every op starts or kills a ring run a fixed number of ops.
BENCH_RING_OPS ?= 5x
BENCH_KILL_OPS ?= 8x
BENCH_LISTCHANGED_OPS ?= 5x

.DEFAULT_GOAL := help
.PHONY: help build dev test deploy-check conformance bench chaos partition lint clean jaeger

help: ## list the targets
	@echo "mcpmesh — a cluster of MCP gateways"
	@echo
	@grep -E '^[a-zA-Z_/-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-22s %s\n", $$1, $$2}'
	@echo
	@echo "make dev honours PORT (8000), NAME (gateway-\$$PORT), JWT_SECRET, JOIN and REDIS_URL."

build: ## build bin/mcpmesh
	$(GO) build -o $(BIN) ./cmd/mcpmesh

# `exec` replaces the recipe's shell with the node, so SIGTERM/SIGINT (which
# make forwards to its child) reach mcpmesh itself: `PORT=8001 make dev &` works.
# The binary is built to a private name and renamed into place, so two
# `make dev` started together never write over a running bin/mcpmesh.
dev: ## build, then run one node with --dev --demo (PORT, NAME, JWT_SECRET, JOIN, REDIS_URL; DATA_ROOT=./data)
	@name="$${NAME:-gateway-$${PORT:-8000}}"; \
	mkdir -p bin "$${DATA_ROOT:-./data}/$$name"; \
	$(GO) build -o "bin/.mcpmesh.$$$$" ./cmd/mcpmesh && mv -f "bin/.mcpmesh.$$$$" $(BIN) || exit 1; \
	exec $(BIN) serve --dev --demo --name "$$name" --data-dir "$${DATA_ROOT:-./data}/$$name"

# The packages' own tests (in-process rings of up to 50 nodes, whose failure
# detector is timed) run first, in parallel; the end-to-end tests, which start
# node processes, the conformance suites and earlier releases' builds, run
# after them: on 2 cores the two together starve the in-process rings into
# false suspicions (TestNoFalseFailuresUnderLoad saw a member fail).
test: scripts/node_modules $(JAEGER) ## run every test with -race (unit, e2e, TypeScript client, conformance)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list $(PKGS) | grep -v '/cmd/mcpmesh$$')
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(E2E)
	$(MAKE) deploy-check

# A module of its own (deploy/kubernetes/check/go.mod), so that k8s.io/api is
# not a dependency of the product.
deploy-check: ## decode deploy/kubernetes strictly with the Kubernetes API types and check their cross-references
	cd deploy/kubernetes/check && $(GO) vet ./... && $(GO) test -count=1 ./...

conformance: scripts/node_modules ## run both MCP conformance suites (0.1.16 sessions, 0.2.0-alpha.12 at 2026-07-28) through a node and through /mcp/peers/{peer} of a second node, its upstream the everything-server over stdio and over HTTP, verbosely
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -run '^TestConformance(Hop)?(2026)?(HTTP)?$$' -v $(E2E)

# `make bench` takes about 4 minutes on 2 cores (bounded well under 10):
# cluster's in-process rings, the kill -9 of a node in a ring of five
# processes, the ring-wide list changes (each op restarts a node twice) and
# a service provider's failover (each op a fresh ring of three)
# run a fixed number of ops; everything else BENCHTIME each.
bench: ## run the benchmarks (forwarded vs direct calls, a legacy session through a non-owning node vs its own, HTTP upstream via a node vs direct, federated vs local lists, failure detection, ring-wide list changes, registry spread, services vs one peer and their failover, access rules: a list page and a forwarded call with 1,000 rules vs none, and a rule's spread, a forwarded call over HTTPS vs plain HTTP, a forwarded call traced vs not)
	$(GO) test -run '^$$' -bench . -benchtime $(BENCH_RING_OPS) -timeout 4m ./cluster/...
	$(GO) test -run '^$$' -bench '^BenchmarkKillDetect$$' -benchtime $(BENCH_KILL_OPS) -timeout 3m $(E2E)
	$(GO) test -run '^$$' -bench '^BenchmarkRingListChanged$$' -benchtime $(BENCH_LISTCHANGED_OPS) -timeout 3m $(E2E)
	$(GO) test -run '^$$' -bench '^BenchmarkServiceFailover$$' -benchtime 1x -timeout 3m $(E2E)
	$(GO) test -run '^$$' -bench . -skip '^(BenchmarkKillDetect|BenchmarkRingListChanged|BenchmarkServiceFailover)$$' -benchtime $(BENCHTIME) -timeout 7m $(E2E)
	$(GO) test -run '^$$' -bench . -skip '^BenchmarkUpstreamInProcess$$' -benchtime $(BENCHTIME) -timeout 3m $$($(GO) list $(PKGS) | grep -v -e '/cluster' -e '/cmd/mcpmesh$$')

chaos: build ## kill -9 and restart nodes under call load; prints detection and rejoin times (N=5 ROUNDS=3)
	bash scripts/chaos.sh

# Root only: it creates network namespaces mm-0..4 and the bridge mmbr0.
partition: build ## (root) split a 5-node ring 3|2 in network namespaces, write on both sides, heal; prints the heal time
	bash scripts/partition.sh

lint: ## gofmt check and go vet
	@out="$$(find . -name '*.go' -not -path './scripts/node_modules/*' -not -path './data/*' -not -path './cmd/mcpmesh/tmp/*' | xargs gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

jaeger: $(JAEGER) ## build Jaeger v1.76.0 into scripts/bin/jaeger for the trace e2e test (once; about 6 minutes)

$(JAEGER): scripts/jaeger/go.mod scripts/jaeger/go.sum
	mkdir -p $(dir $@)
	cd scripts/jaeger && $(GO) build -o ../bin/jaeger.tmp github.com/jaegertracing/jaeger/cmd/jaeger
	mv -f $@.tmp $@

scripts/node_modules: scripts/package.json scripts/package-lock.json ## install the Node tooling (TS SDK, both conformance suites, Node 22)
	$(NPM) ci --prefix scripts --no-audit --no-fund
	@touch $@

clean: ## remove build output, e2e binaries and ./data
	rm -rf bin data cmd/mcpmesh/tmp

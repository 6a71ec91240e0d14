# Barrage: the targets a contributor runs are `make fmt lint test`.
# `make run` builds and runs the quickstart scenario; `make test` is what CI runs.

GO        ?= go
BIN       := bin/barrage
PKGS      := ./...
TARGET_ADDR ?= 127.0.0.1:18080

.PHONY: all build run docs test test-short vet workflowcheck fmt fmt-check lint fuzz bench bench-generator bench-open bench-memory bench-freeze clean web web-test

all: build

build:
	$(GO) build -o $(BIN) ./cmd/barrage

# Starts the built-in demo target, runs examples/quickstart.yaml against it and
# prints where the report is. The target stops by itself when the run is over.
run: build
	@./scripts/quickstart.sh $(BIN) $(TARGET_ADDR)

# Regenerates docs/cli.md, the command reference, from the commands' own
# definitions; a test in cmd/barrage fails when it is stale.
docs:
	$(GO) run ./cmd/barrage docs cli --out docs/cli.md

# The whole test suite, as CI runs it: formatting, vet, workflow determinism,
# the web bundle's unit tests (with Node.js), every Go test (the Postgres
# ones when BARRAGE_TEST_PG is set; the browser ones with Chromium).
test: fmt-check vet workflowcheck web-test
	$(GO) test -count=1 -timeout 30m $(PKGS)

# Rebuilds the console and report bundle (web/dist, committed: Go embeds
# it, so building Barrage needs no Node) from web/src and the lockfile.
web:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

# The bundle's type check and unit tests, and that web/dist is fresh.
web-test:
	@./scripts/web-test.sh

test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

# Workflow code must stay deterministic (no time.Now, goroutines, maps ranged
# for output, ...). The checker's version is pinned by the tool directive in go.mod.
workflowcheck:
	$(GO) tool workflowcheck ./workflows/...

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# staticcheck's and gosec's versions are pinned by the tool directives in
# go.mod. gosec reads no _test.go files (its -tests is off): test helpers'
# unchecked Close calls, math/rand and fixture files would bury what
# matters. A finding that is no bug is justified on its line with
# `// #nosec G<rule> -- <reason>`; the -nosec-require flags refuse a #nosec
# that lacks its rule or its reason.
lint: fmt-check vet workflowcheck
	$(GO) tool staticcheck $(PKGS)
	$(GO) tool gosec -quiet -exclude-generated -nosec-require-rules -nosec-require-justification $(PKGS)

# Runs each fuzz target for FUZZTIME (new findings land in testdata/fuzz).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run=NONE -fuzz=FuzzParseYAML -fuzztime=$(FUZZTIME) ./internal/scenario
	$(GO) test -run=NONE -fuzz=FuzzTemplate -fuzztime=$(FUZZTIME) ./internal/scenario
	$(GO) test -run=NONE -fuzz=FuzzThreshold -fuzztime=$(FUZZTIME) ./internal/scenario
	$(GO) test -run=NONE -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./internal/hist

# Go micro-benchmarks, then the measured comparisons with the peers.
bench:
	$(GO) test -run=NONE -bench=. -benchmem ./internal/...
	$(MAKE) bench-generator bench-open bench-memory bench-freeze

bench-generator: build
	bash bench/generator.sh

bench-open: build
	bash bench/open.sh

bench-memory:
	$(GO) run ./bench/memvu

bench-freeze: build
	bash bench/freeze.sh

# The server's cost of a fleet: WORKERS stand-in workers (default 100) for
# SECONDS (default 60), VIEWERS live streams (default 1), STORE sqlite or
# postgres (default: SQLite, then Postgres when BARRAGE_TEST_PG is set).
.PHONY: bench-fleet bench-report
bench-fleet:
	$(GO) run ./bench/fleet

# Building the report of a stored run of WORKERS workers (default 100) × 5
# steps lasting MINUTES (default 60): time and peak RSS of the building
# process; STORE as for bench-fleet.
bench-report:
	$(GO) run ./bench/report

# What a long run costs its viewers: report.html's size and the time the
# console and the report file take to draw a run of WORKERS (default 20) ×
# STEPS (default 10) lasting MINUTES (default 60), in headless Chromium.
.PHONY: bench-console
bench-console:
	$(GO) run ./bench/console

clean:
	rm -rf bin

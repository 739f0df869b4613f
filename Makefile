# The two commands a new user needs:
#   make examples   build lkpkg and run it on the bundled example packages (offline)
#   make test       install missing test dependencies, then run every test (unit, integration, e2e)

GO      ?= go
GOFLAGS ?= -mod=vendor -trimpath
# exclude_graphdriver_btrfs: containers-storage's btrfs driver needs the btrfs C headers; lkpkg writes with overlay/vfs.
TAGS    ?= containers_image_openpgp seccomp exclude_graphdriver_btrfs
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Deferred (=, not :=): git is asked when the build runs, after .ci/deps has installed it on a fresh machine.
LDFLAGS  = -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN     := bin/lkpkg

.PHONY: all build deps test-deps examples test bench fuzz vendor
all: build

deps:
	@.ci/deps

test-deps:
	@.ci/deps --test

build: deps
	$(GO) build $(GOFLAGS) -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lkpkg

# The main job: build every example package, for all its architectures, fully offline, from the bundled
# base image, into a project-local linuxkit cache; print their tags. Re-running it finds them cached.
EXAMPLES_CACHE ?= $(CURDIR)/.cache/linuxkit
EXAMPLES_STATE ?= $(CURDIR)/.cache/state
examples: build
	tar -C examples/busybox-oci -cf - . | $(BIN) --cache $(EXAMPLES_CACHE) cache import - >/dev/null
	$(BIN) --cache $(EXAMPLES_CACHE) pkg build --state-dir $(EXAMPLES_STATE) $(dir $(wildcard examples/*/build.yml))
	$(BIN) --cache $(EXAMPLES_CACHE) cache ls

test: test-deps build
	$(GO) vet $(GOFLAGS) -tags '$(TAGS)' ./...
	LKPKG_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOFLAGS) -tags '$(TAGS)' -count=1 ./...

bench: test-deps build
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' -run '^$$' -bench . ./frontend/...
	LKPKG=$(CURDIR)/$(BIN) bench/showtag.sh
	LKPKG=$(CURDIR)/$(BIN) bench/showtag.sh --dirty
	LKPKG=$(CURDIR)/$(BIN) bench/build.sh
	LKPKG=$(CURDIR)/$(BIN) bench/rootless.sh
	LKPKG=$(CURDIR)/$(BIN) bench/builders.sh
	LKPKG_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOFLAGS) -tags '$(TAGS)' -run '^$$' -bench Push -benchtime 5x ./e2e/

fuzz:
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' -run '^$$' -fuzz FuzzParseBytes -fuzztime $${FUZZTIME:-3m} ./frontend/

vendor:
	$(GO) mod tidy && $(GO) mod vendor

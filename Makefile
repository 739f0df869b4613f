# The two commands a new user needs:
#   make examples   build lkpkg and run it on the bundled example packages (offline)
#   make test       install missing test dependencies, then run every test (unit, integration, e2e)
# and, for developers:
#   make test-unit  the tests that need no root, QEMU, network services or built binary (go test -short), < 1 min
#   make lint       golangci-lint with .golangci.yml
#   make docs       regenerate docs/cli.md from the CLI (a test fails when it is not current)

GO      ?= go
GOFLAGS ?= -mod=vendor -trimpath
# exclude_graphdriver_btrfs: containers-storage's btrfs driver needs the btrfs C headers; lkpkg writes with overlay/vfs.
TAGS    ?= containers_image_openpgp seccomp exclude_graphdriver_btrfs
# The lkpkg binary (not its tests) also leaves out urfave/cli's markdown and man generator (make docs runs it from
# a test), libcontainer's CRIU checkpointing and gRPC's x/net/trace pages, none of which lkpkg uses: their package
# initialisers ran at every start of the binary, and every RUN step's container init is this binary too.
BIN_TAGS = $(TAGS) urfave_cli_no_docs runc_nocriu grpcnotrace
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# Deferred (=, not :=): git is asked when the build runs, after .ci/deps has installed it on a fresh machine.
# -s -w: no symbol table or DWARF (stack traces and profiles keep their names): a 30 % smaller binary, which lkpkg
# starts for every command and re-executes for every RUN step's container, starts ≈ 10 % faster.
LDFLAGS  = -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN     := bin/lkpkg

.PHONY: all build deps test-deps release-deps arch-deps examples test release test-release test-arch test-arch-unit test-arch-e2e bench fuzz vendor image test-unit lint docs
all: build

deps:
	@.ci/deps

test-deps:
	@.ci/deps --test

release-deps:
	@.ci/deps --release

arch-deps:
	@.ci/deps --arch

build: deps
	$(GO) build $(GOFLAGS) -tags '$(BIN_TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lkpkg

# A static lkpkg (glibc and libseccomp linked in; osusergo netgo: no NSS modules looked for at run time).
STATIC_LDFLAGS = -linkmode external -extldflags -static
STATIC_TAGS    = $(TAGS) osusergo netgo
STATIC_BIN_TAGS = $(BIN_TAGS) osusergo netgo

# lkpkg's CI image, built offline by the static lkpkg itself into the linuxkit cache ($$LINUXKIT_CACHE, else
# ~/.linuxkit/cache) as lkpkg/lkpkg:<tag> for this host's architecture: image/Dockerfile on a minimal Debian made by
# mmdebstrap from Debian packages (IMAGE_SUITE, default the host's release). Push it with `lkpkg cache push`.
IMAGE_SUITE ?= $(shell . /etc/os-release && echo $$VERSION_CODENAME)
IMAGE_ARCH  ?= $(shell $(GO) env GOARCH)
# The Debian root file system is made once; delete image/rootfs.tar to take newer packages.
image: deps image/rootfs.tar
	$(GO) build $(GOFLAGS) -tags '$(STATIC_BIN_TAGS)' -ldflags '$(LDFLAGS) $(STATIC_LDFLAGS)' -o image/lkpkg ./cmd/lkpkg
	image/lkpkg pkg build --force --platforms linux/$(IMAGE_ARCH) image

image/rootfs.tar:
	@.ci/deps --image
	mmdebstrap --quiet --format=tar --variant=essential --include=git,ca-certificates --architectures=$(IMAGE_ARCH) \
		$(IMAGE_SUITE) $@.tmp
	mv $@.tmp $@

# Release binaries: one fully static lkpkg per architecture (cgo with the C library and libseccomp linked in;
# osusergo and netgo keep glibc's NSS, which a static binary cannot load, out; the linker's one warning, about
# dlopen in go-sqlite3's extension loading, which lkpkg never uses, is harmless), cross-linked with Debian's cross
# compilers, and their SHA-256 sums. Each builds packages for every architecture.
RELEASE_DIR    ?= dist
RELEASE_ARCHES ?= amd64 arm64 s390x
triplet_amd64  := x86_64-linux-gnu
triplet_arm64  := aarch64-linux-gnu
triplet_s390x  := s390x-linux-gnu
# The environment that cross-compiles and links with architecture $(1)'s C toolchain and libseccomp.
cross_env = CGO_ENABLED=1 GOOS=linux GOARCH=$(1) CC=$(triplet_$(1))-gcc \
	PKG_CONFIG_LIBDIR=/usr/lib/$(triplet_$(1))/pkgconfig:/usr/share/pkgconfig
release: $(addprefix release-,$(RELEASE_ARCHES))
	cd $(RELEASE_DIR) && sha256sum $(addprefix lkpkg-linux-,$(RELEASE_ARCHES)) > SHA256SUMS

# One architecture's release binary (make test-arch needs only its own).
release-%: release-deps
	@[ -n "$(triplet_$*)" ] || { echo "release: no toolchain for $* (amd64, arm64 or s390x)" >&2; exit 1; }
	@mkdir -p $(RELEASE_DIR)
	$(call cross_env,$*) $(GO) build $(GOFLAGS) -tags '$(STATIC_BIN_TAGS)' -ldflags '$(LDFLAGS) $(STATIC_LDFLAGS)' \
		-o $(RELEASE_DIR)/lkpkg-linux-$* ./cmd/lkpkg

# Checks what make release built: the files, their sums, each binary run (foreign ones under QEMU user emulation).
test-release: test-deps
	LKPKG_RELEASE_DIR=$(CURDIR)/$(RELEASE_DIR) LKPKG_RELEASE_VERSION=$(VERSION) LKPKG_RELEASE_COMMIT=$(COMMIT) LKPKG_BIN=$(CURDIR)/$(RELEASE_DIR)/lkpkg-linux-$(shell $(GO) env GOARCH) \
		$(GO) test $(GOFLAGS) -tags '$(TAGS)' -count=1 -run 'TestRelease' ./e2e/

# The main job: build every example package, for all its architectures, fully offline, from the bundled
# base image, into a project-local linuxkit cache; print their tags. Re-running it finds them cached.
EXAMPLES_CACHE ?= $(CURDIR)/.cache/linuxkit
EXAMPLES_STATE ?= $(CURDIR)/.cache/state
examples: build
	tar -C examples/busybox-oci -cf - . | $(BIN) --cache $(EXAMPLES_CACHE) cache import - >/dev/null
	$(BIN) --cache $(EXAMPLES_CACHE) pkg build --state-dir $(EXAMPLES_STATE) $(dir $(wildcard examples/*/build.yml))
	$(BIN) --cache $(EXAMPLES_CACHE) cache ls

# The whole suite stays under 45 minutes; a test binary that hangs is stopped (with its goroutines' stacks) before.
test: test-deps build
	$(GO) vet $(GOFLAGS) -tags '$(TAGS)' ./...
	LKPKG_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOFLAGS) -tags '$(TAGS)' -count=1 -timeout 40m ./...

# No dependency on build or test-deps: it needs only Go and the C toolchain of the build (.ci/deps).
test-unit:
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' -short -count=1 -timeout 5m ./...

# golangci-lint reads the build tags and -mod=vendor from .golangci.yml.
lint: test-deps
	golangci-lint run ./...

docs:
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' -count=1 -run '^TestCLIReference$$' ./cmd/lkpkg -update-docs

bench: test-deps build
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' -run '^$$' -bench . -timeout 30m ./frontend/...
	LKPKG=$(CURDIR)/$(BIN) bench/showtag.sh
	LKPKG=$(CURDIR)/$(BIN) bench/showtag.sh --dirty
	LKPKG=$(CURDIR)/$(BIN) bench/build.sh
	LKPKG=$(CURDIR)/$(BIN) bench/tree.sh
	LKPKG=$(CURDIR)/$(BIN) bench/phases.sh
	LKPKG=$(CURDIR)/$(BIN) bench/rootless.sh
	LKPKG=$(CURDIR)/$(BIN) bench/container.sh
	LKPKG=$(CURDIR)/$(BIN) bench/builders.sh
	LKPKG_BIN=$(CURDIR)/$(BIN) $(GO) test $(GOFLAGS) -tags '$(TAGS)' -run '^$$' -bench Push -benchtime 5x -timeout 30m ./e2e/

fuzz:
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' -run '^$$' -fuzz FuzzParseBytes -fuzztime $${FUZZTIME:-3m} ./frontend/

vendor:
	$(GO) mod tidy && $(GO) mod vendor

# Proof on a native arm64 or s390x machine: a full-system QEMU guest (its image made once, under
# /var/cache/lkpkg-test-arch) runs this checkout's static binary there, as root and rootless (.ci/arch/test-arch).
ARCH ?= arm64
test-arch: arch-deps build release-$(ARCH)
	.ci/arch/test-arch $(ARCH)

# The unit tests (go test -short) of every package but e2e/ on a native arm64 or s390x machine: their test binaries
# cross-compiled and linked statically as the release is, run as root in the same guest (.ci/arch/test-arch-unit).
UNIT_DIR ?= $(RELEASE_DIR)/unit-$(ARCH)
test-arch-unit: arch-deps
	@[ -n "$(triplet_$(ARCH))" ] || { echo "test-arch-unit: no toolchain for $(ARCH) (arm64 or s390x)" >&2; exit 1; }
	rm -rf $(UNIT_DIR) && mkdir -p $(UNIT_DIR)
	$(GO) list $(GOFLAGS) -tags '$(TAGS)' -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | \
		sed 's|^$(shell $(GO) list -m)/||' | grep -vx e2e >$(UNIT_DIR)/packages
	while read -r pkg; do \
		$(call cross_env,$(ARCH)) $(GO) test -c $(GOFLAGS) -tags '$(STATIC_TAGS)' -ldflags '$(STATIC_LDFLAGS)' \
			-o $(UNIT_DIR)/$$(echo $$pkg | tr / _).test ./$$pkg || exit 1; \
	done <$(UNIT_DIR)/packages
	.ci/arch/test-arch-unit $(ARCH) $(UNIT_DIR)

# The e2e suite on a native arm64 or s390x machine: its test binary cross-compiled and linked statically as the
# release is, run as root in the same guest against the release binary, tests whose tools the guest lacks named and
# excluded (.ci/arch/test-arch-e2e). Hours under TCG: E2E_RUN (a go test -run pattern) runs a part of it.
E2E_DIR ?= $(RELEASE_DIR)/e2e-$(ARCH)
E2E_RUN ?=
test-arch-e2e: arch-deps release-$(ARCH)
	@[ -n "$(triplet_$(ARCH))" ] || { echo "test-arch-e2e: no toolchain for $(ARCH) (arm64 or s390x)" >&2; exit 1; }
	rm -rf $(E2E_DIR) && mkdir -p $(E2E_DIR)
	$(call cross_env,$(ARCH)) $(GO) test -c $(GOFLAGS) -tags '$(STATIC_TAGS)' -ldflags '$(STATIC_LDFLAGS)' \
		-o $(E2E_DIR)/e2e.test ./e2e
	LKPKG_E2E_RUN='$(E2E_RUN)' .ci/arch/test-arch-e2e $(ARCH) $(E2E_DIR)/e2e.test $(RELEASE_DIR)/lkpkg-linux-$(ARCH)

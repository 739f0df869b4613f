GO        ?= go
GOFLAGS   ?= -mod=vendor -trimpath
TAGS      ?= containers_image_openpgp seccomp
BIN       := bin/lkpkg

.PHONY: all build test vendor
all: build
build:
	$(GO) build $(GOFLAGS) -tags '$(TAGS)' -o $(BIN) ./cmd/lkpkg
test: build
	$(GO) vet $(GOFLAGS) -tags '$(TAGS)' ./...
	$(GO) test $(GOFLAGS) -tags '$(TAGS)' ./...
vendor:
	$(GO) mod tidy && $(GO) mod vendor

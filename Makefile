# docker-werf: build, test and install both binaries.
PKG      := github.com/docker-werf/docker-werf
# The version is semver: vX.Y.Z (X.Y.Z from the VERSION file) when HEAD is the
# clean release tag vX.Y.Z, else vX.Y.Z-dev+<commit> (+<commit>.dirty with
# uncommitted changes).
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
RELEASE  := $(shell cat $(CURDIR)/VERSION)
DIRTY    := $(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo .dirty)
AT_TAG   := $(shell git tag --points-at HEAD 2>/dev/null | grep -qxF v$(RELEASE) && echo yes)
VERSION  ?= $(if $(AT_TAG),$(if $(DIRTY),,v$(RELEASE)),)
VERSION  := $(or $(VERSION),v$(RELEASE)-dev+$(COMMIT)$(DIRTY))
LDFLAGS  := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)
GOBUILD  := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"
BIN      := $(CURDIR)/bin

# Test tools (registries, crane, regctl, a docker CLI when none is on PATH)
# are installed by e2e/testdeps.sh into this cache and found through PATH.
TEST_CACHE ?= $(or $(DOCKER_WERF_TEST_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/docker-werf-test)
export DOCKER_WERF_TEST_CACHE := $(TEST_CACHE)
export PATH := $(TEST_CACHE)/bin:$(PATH)
export GOFLAGS ?= -buildvcs=false

# The CI image (Dockerfile): BASE_IMAGE has a shell and the docker CLI.
BASE_IMAGE ?= docker:28-cli
# Image tags cannot hold "+": v0.1.0-dev+abc1234 is tagged v0.1.0-dev_abc1234.
IMAGE      ?= docker-werf:$(subst +,_,$(VERSION))

.PHONY: all build image test unit e2e testdeps bench vet lint install demo clean

all: build

build:
	$(GOBUILD) -o $(BIN)/docker-werf ./cli-plugin
	$(GOBUILD) -o $(BIN)/docker-credential-werf ./credhelper

## image: the CI image, both binaries on BASE_IMAGE, tagged IMAGE (the build
## context is bin/).
image: build
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) -f $(CURDIR)/Dockerfile $(BIN)

## test: every test, unit and end-to-end, installing what they need first.
test: build testdeps vet
	DOCKER_WERF_BIN_DIR=$(BIN) go test -count=1 -timeout 30m ./...

## vet: gofmt and go vet, the fast part of lint; make test runs it.
vet:
	@test -z "$$(gofmt -l cli-plugin credhelper internal e2e)" || { gofmt -l cli-plugin credhelper internal e2e; echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...

unit:
	go test -count=1 ./cli-plugin/... ./credhelper/... ./internal/...

e2e: build testdeps
	DOCKER_WERF_BIN_DIR=$(BIN) go test -count=1 -timeout 30m ./e2e/...

testdeps:
	sh e2e/testdeps.sh

## bench: Go benchmarks, including whole-process latency of both binaries.
bench: build testdeps
	DOCKER_WERF_BIN_DIR=$(BIN) go test -run '^$$' -bench . -skip '^BenchmarkRegistryAPIDelete$$' -benchtime 200x ./e2e/ ./internal/...
	DOCKER_WERF_BIN_DIR=$(BIN) go test -run '^$$' -bench '^BenchmarkRegistryAPIDelete$$' -benchtime 1x -timeout 60m ./e2e/
	DOCKER_WERF_BIN_DIR=$(BIN) DOCKER_WERF_BENCH=1 go test -count=1 -run '^TestCleanupBench$$' -v -timeout 90m ./e2e/bench/
	DOCKER_WERF_BIN_DIR=$(BIN) DOCKER_WERF_BENCH=1 go test -count=1 -run '^TestCleanupScale$$' -v -timeout 150m ./e2e/bench/

lint: vet
	@if GOBIN=$(TEST_CACHE)/bin go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.6.2 2>/dev/null; then \
		golangci-lint run ./...; \
	else echo "golangci-lint could not be installed here; gofmt and go vet passed"; fi

install:
	sh install.sh

## demo: the main job told step by step (e2e/demo), installing only what it
## uses. Run in its directory, go test shows the narration as it comes; built
## as `build` builds (CGO off, -trimpath), it reuses the packages build compiled.
demo: build
	sh e2e/testdeps.sh demo
	cd e2e/demo && CGO_ENABLED=0 DOCKER_WERF_BIN_DIR=$(BIN) go test -trimpath -count=1 -run '^TestDemo$$' -args -narrate

clean:
	rm -rf $(BIN)

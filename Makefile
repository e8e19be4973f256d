# Berth — see README.md. `make run` and `make test` are the two entry points.
GO      ?= go
ARCH    ?= $(shell $(GO) env GOARCH)
OUT     := _output
BIN     := $(OUT)/bin
IMAGE   := $(OUT)/share/berth/image/$(ARCH)
CACHE   ?= .cache

export CGO_ENABLED ?= 0

.PHONY: all build berth init image run test test-unit test-e2e bench clean deps

all: build

build: berth init

# The CLI (it is also the host agent: `berth hostagent`).
berth:
	$(GO) build -o $(BIN)/berth ./cmd/berth

# The guest's PID 1: static, for the guest's architecture.
init:
	GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/berth-init-$(ARCH) ./cmd/berth-init

# The guest image (kernel, initramfs, rootfs, manifest). A no-op when its
# inputs (package lock, guest init) have not changed.
image: init deps-image
	$(GO) run ./cmd/berth-image -arch $(ARCH) -init $(BIN)/berth-init-$(ARCH) -out $(IMAGE) -cache $(CACHE)/image

# Re-resolve the pinned package list against the mirror.
image-lock:
	$(GO) run ./cmd/berth-image -arch $(ARCH) -lock

# Builds what is missing, starts the engine, prints how to use it.
run: deps build image
	$(BIN)/berth start

# Host packages (Debian/Ubuntu): each target that needs some has its list,
# hack/deps-LIST.txt, as a prerequisite deps-LIST; hack/deps.sh installs
# what is missing (as root; otherwise it prints the command and stops).
DEPS_LISTS   := $(patsubst hack/deps-%.txt,%,$(wildcard hack/deps-*.txt))
DEPS_TARGETS := $(addprefix deps-,$(DEPS_LISTS))
.PHONY: $(DEPS_TARGETS)

$(DEPS_TARGETS):
	@./hack/deps.sh $(@:deps-%=%)

# What `make run` needs: QEMU and the image tools; a docker CLI if one can
# be had (the engine starts without it, and says how to get one).
deps:
	@./hack/deps.sh run image --optional docker

test: check test-unit test-fuzz test-tray test-windows test-e2e

# -race needs cgo (and a C compiler); the binaries themselves are built without.
test-unit: deps-unit
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

test-e2e: deps-run deps-docker deps-tray deps-e2e deps-dashboard build image
	BERTH_IMAGE_TEST=1 BERTH_IMAGE_DIR=$(abspath $(IMAGE)) $(GO) test -count=1 -run '^TestBootImage' -v ./kernel/build/
	BERTH_E2E=1 BERTH_IMAGE_DIR=$(abspath $(IMAGE)) $(GO) test -count=1 -run '^TestWSLInit$$' -v ./guest/initd/
	BERTH_E2E=1 BERTH_BIN=$(abspath $(BIN)/berth) $(GO) test -count=1 -timeout 50m -v ./e2e/...

bench: deps-run deps-docker deps-e2e deps-dashboard build image
	BERTH_E2E=1 BERTH_BIN=$(abspath $(BIN)/berth) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./e2e/...

clean:
	rm -rf $(OUT)

-include mk/*.mk

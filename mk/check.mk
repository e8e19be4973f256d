# Static checks for every OS, Windows tests under Wine, the macOS cgo
# type-check. Included by the Makefile; see README "Development".

GOLANGCI_LINT_VERSION := v2.15.0
TOOLS_BIN     := $(abspath $(CACHE)/bin)
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

# GOOS/GOARCH pairs that must vet and build. darwin builds without cgo
# here; its cgo packages are covered by typecheck-darwin.
CHECK_PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64 darwin/amd64
LINT_GOOS       := linux windows darwin

.PHONY: check fmt-check vet build-all lint typecheck-darwin test-windows tools

check: fmt-check vet build-all lint typecheck-darwin

# Dev tools, pinned, in .cache/bin; the version is in the file name so
# that a bump reinstalls.
tools: $(GOLANGCI_LINT)

$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(TOOLS_BIN)/golangci-lint $@

fmt-check:
	@out=$$(find . -name '*.go' -not -path './.cache/*' -not -path './_output/*' -not -path './.git/*' | xargs gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@rc=0; for p in $(CHECK_PLATFORMS); do \
		echo "go vet $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet ./... || rc=1; \
	done; exit $$rc

# Compiles every package and links every binary for each platform.
build-all:
	@rc=0; for p in $(CHECK_PLATFORMS); do \
		echo "go build $$p"; \
		out=$(CACHE)/check/$${p%/*}_$${p#*/}; mkdir -p $$out; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o $$out/ ./... || rc=1; \
	done; exit $$rc

lint: $(GOLANGCI_LINT)
	@rc=0; for os in $(LINT_GOOS); do \
		echo "golangci-lint $$os"; \
		GOOS=$$os CGO_ENABLED=0 $(GOLANGCI_LINT) run ./... || rc=1; \
	done; exit $$rc

# The darwin packages that need cgo, type-checked from here; the tool's
# own test proves it fails on a broken fixture. The required ones must be
# among them (vz's translation is checked nowhere else).
TYPECHECK_DARWIN_REQUIRED := github.com/berth-dev/berth/vm/vz
typecheck-darwin:
	$(GO) test -count=1 ./tools/typecheck-darwin
	$(GO) run ./tools/typecheck-darwin -require $(TYPECHECK_DARWIN_REQUIRED) ./...

# Windows test binaries under Wine (packages in hack/deps-windows.txt). The
# runner's own test first: it must see a failing fixture fail.
test-windows: deps-windows
	BERTH_WINE_TESTS=1 $(GO) test -count=1 ./tools/winetest
	$(GO) run ./tools/winetest ./...

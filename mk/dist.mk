# Installers: `make dist` writes the .deb (amd64, arm64), the MSI (x64)
# and the macOS disk images (arm64, amd64) into _output/dist; tools/dist
# packages them (installer/*). Included by the Makefile; see README
# "Installers".

# The one place the version comes from: stamped into every binary
# (berth version) and every package's metadata.
VERSION      := $(shell cat VERSION)
DIST         := $(OUT)/dist
DIST_BIN     := $(DIST)/bin
DIST_LDFLAGS := -s -w -X main.version=$(VERSION)
DIST_GO      := CGO_ENABLED=0 $(GO) build -ldflags='$(DIST_LDFLAGS)'
DIST_RUN     := $(GO) run ./tools/dist -version $(VERSION) -bin $(DIST_BIN) -image $(OUT)/share/berth/image -out $(DIST) \
	-license '$(wildcard LICENSE)' -entitlements hack/darwin/berth.entitlements

# No -trimpath: the build info then keeps -ldflags, which is how the
# tests read the version stamped into the darwin binaries they cannot run.
# Darwin binaries built here are CGO_ENABLED=0: no vz driver and no
# native tray (README "Installers"); a release dmg is built on a Mac.
DIST_PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64 darwin/amd64

.PHONY: dist dist-bin dist-images dist-deb dist-msi dist-dmg test-dist

dist: dist-deb dist-msi dist-dmg

dist-bin:
	@for p in $(DIST_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; dir=$(DIST_BIN)/$${os}_$$arch; ext=; gui=; \
		if [ $$os = windows ]; then ext=.exe; gui=-H=windowsgui; fi; \
		echo "go build $$p"; \
		GOOS=$$os GOARCH=$$arch $(DIST_GO) -o $$dir/berth$$ext ./cmd/berth || exit 1; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -ldflags='$(DIST_LDFLAGS) '$$gui -o $$dir/berth-tray$$ext ./cmd/berth-tray || exit 1; \
		if [ $$os = windows ]; then GOOS=$$os GOARCH=$$arch $(DIST_GO) -o $$dir/berth-service.exe ./cmd/berth-service || exit 1; fi; \
	done

# Both guest images (a no-op when they are built and up to date).
dist-images:
	$(MAKE) image ARCH=amd64
	$(MAKE) image ARCH=arm64

dist-deb: deps-dist dist-bin dist-images
	$(DIST_RUN) deb amd64
	$(DIST_RUN) deb arm64

dist-msi: deps-dist dist-bin dist-images
	$(DIST_RUN) msi amd64
	$(DIST_RUN) msi-service amd64

dist-dmg: deps-dist dist-bin dist-images
	$(DIST_RUN) dmg arm64
	$(DIST_RUN) dmg amd64

# Part of `make test`. The unit tests of the packagers, then the packages
# installed for real: the .deb with dpkg (it boots the installed berth:
# one VM, under emulation without KVM), the MSI under Wine in a fresh
# prefix, the disk images read back. 4 minutes here, with a warm Go
# cache (README "Installers").
test: test-dist

test-dist: deps-dist deps-run deps-docker deps-windows dist
	$(GO) test -count=1 ./installer/... ./internal/autostart/ ./tools/dist/
	BERTH_DIST_TEST=1 BERTH_DIST_DIR=$(abspath $(DIST)) BERTH_VERSION=$(VERSION) $(GO) test -count=1 -timeout 40m -v ./installer/disttest/

# The arm64 guest, booted for real under emulation on any host (TCG on an
# amd64 one). Included by the Makefile; see README "Development".

.PHONY: test-e2e-arm64

# Part of `make test`, after test-e2e (one VM at a time): the suite took
# 4-7 minutes here (2.5 more to build the arm64 image), within the ~8
# minutes the 60-minute budget on 2 cores leaves it (README "Development").
test: test-e2e-arm64

# Berth's own QEMU driver boots the arm64 image through the real berth
# binary (config `arch: arm64`) and the real docker CLI drives it: e2e
# TestArm64. The image is built by `make image ARCH=arm64`; the packages
# of hack/deps-arm64.txt bring qemu-system-aarch64.
test-e2e-arm64: deps-run deps-docker deps-e2e deps-image deps-arm64 build
	$(MAKE) image ARCH=arm64
	BERTH_E2E=1 BERTH_E2E_ARCH=arm64 BERTH_BIN=$(abspath $(BIN)/berth) $(GO) test -count=1 -timeout 40m -run '^TestArm64$$' -v ./e2e/

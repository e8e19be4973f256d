# macOS: the signed berth. Included by the Makefile; see README "macOS".
#
# Virtualization.framework creates a VM only in a process whose binary
# carries the com.apple.security.virtualization entitlement. An ad-hoc
# signature (`-s -`, no Apple identity) is enough on the Mac that signs
# it; a berth given to others needs a Developer ID and notarization.

ENTITLEMENTS := hack/darwin/berth.entitlements

.PHONY: sign

# Builds berth with cgo (the vz driver needs it; the Makefile's default
# is CGO_ENABLED=0), then signs it with the entitlements and the hardened
# runtime, and checks the signature.
sign:
	@if [ "$$(uname -s)" != Darwin ]; then \
		echo "make sign: codesign and the vz driver need macOS; this is $$(uname -s). Run it on a Mac." >&2; exit 1; \
	fi
	CGO_ENABLED=1 $(GO) build -o $(BIN)/berth ./cmd/berth
	codesign --entitlements $(ENTITLEMENTS) --options runtime --force -s - $(BIN)/berth
	codesign --verify --strict $(BIN)/berth
	codesign -d --entitlements - $(BIN)/berth

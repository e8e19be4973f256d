# Fuzz targets, each run for a short budget by `make test` (README
# "Reliability"). A failing input is written to the package's
# testdata/fuzz/<Target>/, where plain `go test` runs it from then on:
# commit it with the fix, as a regression seed.

FUZZTIME ?= 8s

# package:target, one per fuzz function.
FUZZ_TARGETS := \
	./config:FuzzCheck \
	./config:FuzzSetSave \
	./portfwd:FuzzParseSpec \
	./internal/winpath:FuzzMntPath \
	./hostagent/bridge:FuzzForward \
	./hostagent/bridge:FuzzResponses \
	./hostagent/bridge:FuzzRewriteCreate \
	./hostagent/bridge:FuzzResolve \
	./hostagent:FuzzControlAPI \
	./hostagent/diagnose:FuzzRedactText \
	./guest/agentapi:FuzzExecFrames \
	./guest/agentapi:FuzzDatagrams \
	./guest/agentapi:FuzzGuestAPI \
	./guest/initd:FuzzLinkFrames

.PHONY: test-fuzz

test-fuzz:
	@rc=0; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*} || rc=1; \
	done; exit $$rc

# Fuzz targets, each run for a short budget by `make test` (README
# "Reliability"). A failing input is written to the package's
# testdata/fuzz/<Target>/, where plain `go test` runs it from then on:
# commit it with the fix, as a regression seed.

FUZZTIME ?= 8s
# Minimizing each new input for up to a minute (the default) would spend
# a short budget on a few large seeds (the recorded docker requests).
FUZZMINIMIZE ?= 100x

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
	./guest/initd:FuzzLinkFrames \
	./hostagent/dashboard:FuzzDecide

.PHONY: test-fuzz

# Go's fuzz coordinator can end a run that found nothing with "context
# deadline exceeded" when -fuzztime runs out under load (a race in
# internal/fuzz, go.dev/issue/75804, fixed in Go 1.27): such a run, with no
# failing input written and nothing else wrong, is not a finding.
test-fuzz:
	@rc=0; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $${t%%:*} 2>&1); st=$$?; \
		if [ $$st -eq 0 ]; then printf '%s\n' "$$out" | grep -E '^fuzz: elapsed' | tail -n 1; \
		elif printf '%s\n' "$$out" | grep -q 'Failing input written' || \
			[ "$$(printf '%s\n' "$$out" | grep -vE '^(fuzz: |--- FAIL: Fuzz|FAIL|exit status 1$$)' | tr -d ' \t')" != "contextdeadlineexceeded" ]; then \
			printf '%s\n' "$$out"; rc=1; \
		else echo "  ended by Go's fuzztime deadline race (go.dev/issue/75804), no failing input: not a finding"; fi; \
	done; exit $$rc

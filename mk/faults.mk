# The fault suite: each process of a running machine killed in turn, and a
# laptop's sleep (the VM's CPUs stopped for ten minutes of wall clock,
# run beside the kills on a second machine). Included by the Makefile; see
# README "Reliability".

.PHONY: test-faults

# Part of `make test`, after the end-to-end suites: about 12 minutes, most
# of it the sleep, which runs beside the kill cases.
test: test-faults

test-faults: deps-run deps-docker deps-tray deps-e2e deps-image build berth-tray image
	BERTH_E2E=1 BERTH_E2E_FAULTS=1 BERTH_BIN=$(abspath $(BIN)/berth) $(GO) test -count=1 -timeout 45m -run '^TestFaults$$' -v ./e2e/

# The fault suite: each process of a running machine killed in turn; a
# laptop's sleep (the VM's CPUs stopped for ten minutes of wall clock) on a
# second machine beside the kills; the load on a third while the second
# sleeps. Included by the Makefile; see README "Reliability".

.PHONY: test-faults

# Part of `make test`, after the end-to-end suites: about 15-20 minutes,
# most of it the sleep, which runs beside the kill and load cases.
test: test-faults

# FAULTS picks cases by name: FAULTS='sleep|load' (with a short
# BERTH_FAULTS_SLEEP) runs the load without the kills.
FAULTS ?= .

test-faults: deps-run deps-docker deps-tray deps-e2e deps-image build berth-tray image
	BERTH_E2E=1 BERTH_E2E_FAULTS=1 BERTH_BIN=$(abspath $(BIN)/berth) $(GO) test -count=1 -timeout 60m -run '^TestFaults$$/^group$$/$(FAULTS)' -v ./e2e/

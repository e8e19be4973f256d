# What `make test` leaves out to keep CI within an hour on 2 cores, run
# nightly (README "Development"): the load test, 8-14 minutes under
# emulation. Included by the Makefile.

.PHONY: test-nightly test-load

test-nightly: test-load

# e2e TestLoad: 1,000 concurrent docker API calls through the bridge, then
# 10,000 short and 200 long connections through one forward; the agent's
# files and goroutines back to their start figures (README "Reliability").
test-load: deps-run deps-docker deps-e2e build image
	BERTH_E2E=1 BERTH_E2E_LOAD=1 BERTH_BIN=$(abspath $(BIN)/berth) $(GO) test -count=1 -timeout 60m -run '^TestLoad$$' -v ./e2e/

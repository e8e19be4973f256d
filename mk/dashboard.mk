# The dashboard (hostagent/dashboard). Included by the Makefile; see
# README "Dashboard".

# The guard's policy (token, cookie, Host, Origin) is fuzzed by make
# test-fuzz (mk/fuzz.mk, FuzzDecide); its unit tests and seed corpus run in
# test-unit.

.PHONY: bench-dashboard

bench: bench-dashboard

# The page's speed in headless Chromium against the stand-in engine: first
# paint of 200 containers, 100,000 lines of logs (README "Dashboard").
bench-dashboard: deps-dashboard
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 5x ./hostagent/dashboard/

.PHONY: bench-agent-idle

bench: bench-agent-idle

# The host agent's idle CPU (the fake driver, its guest and the stand-in
# engine): never a page, a page open, the page closed; a closed page must
# leave nothing running (README "Dashboard"). About 40 s.
bench-agent-idle:
	$(GO) test -count=1 -run '^$$' -bench BenchmarkAgentIdle -benchtime 1x ./hostagent/

.PHONY: test-dashboard-page

test: test-dashboard-page

# The page's machine actions (Stop, Start, Restart, the phases, the
# timeline) in headless Chromium against a stand-in agent: about 10 s.
test-dashboard-page: deps-dashboard
	BERTH_BROWSER_TEST=1 $(GO) test -count=1 -run '^TestPage' -v ./hostagent/dashboard/

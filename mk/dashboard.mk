# The dashboard (hostagent/dashboard). Included by the Makefile; see
# README "Dashboard".

.PHONY: fuzz-dashboard

test: fuzz-dashboard

# The guard's policy (token, cookie, Host, Origin) fuzzed for a while; its
# unit tests and seed corpus run in test-unit.
fuzz-dashboard:
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzDecide$$' -fuzztime 20s ./hostagent/dashboard/

.PHONY: bench-dashboard

bench: bench-dashboard

# The page's speed in headless Chromium against the stand-in engine: first
# paint of 200 containers, 100,000 lines of logs (README "Dashboard").
bench-dashboard: deps-dashboard
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 5x ./hostagent/dashboard/

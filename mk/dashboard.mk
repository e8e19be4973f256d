# The dashboard (hostagent/dashboard). Included by the Makefile; see
# README "Dashboard".

.PHONY: fuzz-dashboard

test: fuzz-dashboard

# The guard's policy (token, cookie, Host, Origin) fuzzed for a while; its
# unit tests and seed corpus run in test-unit.
fuzz-dashboard:
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzDecide$$' -fuzztime 20s ./hostagent/dashboard/

// Package wine tells tests whether they run under Wine, where some Windows
// services (HCS, WSL) do not exist and a few behave differently, so that
// they can skip or adapt out loud instead of failing or passing by accident.
package wine

import "testing"

// Detected reports whether this Windows process runs under Wine. It is
// always false on other operating systems.
func Detected() bool { return detected() }

// Skip skips t with reason when running under Wine.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Detected() {
		t.Skipf("skipped under Wine: %s", reason)
	}
}

package initd

import "testing"

func TestIsUserProcess(t *testing.T) {
	for stat, want := range map[string]bool{
		"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0":              false,
		"161 (containerd) S 1 161 161 0 -1 4194560 1234 0 0 0 5 3 0 0 20 0 9 0 200 0 0": true,
		"300 (a) b) (c) S 1 300 300 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 300 0 0":      true,
		"301 (sh) Z 1 301 301 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 301 0 0":            false,
		"garbage": false,
	} {
		if got := isUserProcess(stat); got != want {
			t.Errorf("isUserProcess(%q) = %v, want %v", stat, got, want)
		}
	}
}

package vz

import (
	"strings"
	"testing"
)

func TestRosettaEnabled(t *testing.T) {
	for _, c := range []struct {
		wanted  bool
		goarch  string
		version string
		on      bool
		errHas  []string
	}{
		{true, "arm64", "13.0", true, nil},
		{true, "arm64", "14.6.1\n", true, nil},
		{true, "arm64", "26.0", true, nil},
		{false, "arm64", "14.6.1", false, nil},
		{false, "amd64", "12.0", false, nil}, // not wanted: never an error
		{true, "amd64", "14.6.1", false, []string{"rosetta", "Apple silicon", "amd64"}},
		{true, "arm64", "12.7.6", false, []string{"rosetta", "macOS 13.0 or later", "12.7.6"}},
		{true, "arm64", "bogus", false, []string{"rosetta", `"bogus"`}},
	} {
		on, err := rosettaEnabled(c.wanted, c.goarch, c.version)
		if on != c.on {
			t.Errorf("rosettaEnabled(%v, %s, %q) = %v, want %v", c.wanted, c.goarch, c.version, on, c.on)
		}
		if (err != nil) != (c.errHas != nil) {
			t.Errorf("rosettaEnabled(%v, %s, %q): error %v", c.wanted, c.goarch, c.version, err)
			continue
		}
		for _, w := range c.errHas {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("rosettaEnabled(%v, %s, %q) = %q, does not say %q", c.wanted, c.goarch, c.version, err, w)
			}
		}
	}
}

func TestRosettaAvailable(t *testing.T) {
	if err := rosettaAvailable(rosettaInstalled); err != nil {
		t.Errorf("installed: %v", err)
	}
	for a, want := range map[rosettaAvailability][]string{
		rosettaNotInstalled:    {"rosetta", "not installed", "softwareupdate --install-rosetta --agree-to-license"},
		rosettaNotSupported:    {"rosetta", "Apple silicon", "macOS 13"},
		rosettaAvailability(7): {"rosetta", "7"},
	} {
		err := rosettaAvailable(a)
		if err == nil {
			t.Errorf("availability %d: no error", a)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("availability %d: %q does not say %q", a, err, w)
			}
		}
	}
}

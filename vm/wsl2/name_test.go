package wsl2

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/store"
)

func TestDistroName(t *testing.T) {
	got, err := DistroName("default")
	if err != nil || got != "berth-default" {
		t.Fatalf("DistroName(default) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "a b", "ä", `a\b`, strings.Repeat("a", maxDistroName)} {
		if _, err := DistroName(bad); err == nil {
			t.Errorf("DistroName(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "machine name") {
			t.Errorf("DistroName(%q): %v does not name the field", bad, err)
		}
	}
}

// Every machine name the store accepts makes a distro name WSL accepts.
func TestMachineNamesAreDistroNames(t *testing.T) {
	for _, m := range []string{"default", "a", "0", "dev-2", strings.Repeat("z", 31), "legacy"} {
		if err := store.ValidateName(m); err != nil {
			t.Fatalf("the store refuses %q: %v", m, err)
		}
		if _, err := DistroName(m); err != nil {
			t.Errorf("machine %q: %v", m, err)
		}
	}
}

func TestValidateDistroName(t *testing.T) {
	for name, ok := range map[string]bool{
		"Ubuntu-22.04":                       true,
		"berth_x.y-z":                        true,
		strings.Repeat("a", maxDistroName):   true,
		strings.Repeat("a", maxDistroName+1): false,
		"":                                   false,
		"Legacy":                             false,
		"legacy":                             false,
		"a/b":                                false,
		"a b":                                false,
		"-d":                                 false, // WSL accepts it, wsl.exe reads it as an option
	} {
		if err := ValidateDistroName(name); (err == nil) != ok {
			t.Errorf("ValidateDistroName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

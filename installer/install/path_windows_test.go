package install

import (
	"strings"
	"testing"
)

// TestUserPath adds a folder to the user's PATH in the registry, twice,
// and takes it out again, keeping what was there.
func TestUserPath(t *testing.T) {
	before, typ, err := userPath()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setUserPath(before, typ) })
	dir := `C:\Berth test\bin`
	for range 2 {
		if err := addUserPath(dir); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := userPath()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(got, dir) != 1 || !strings.HasPrefix(got, before) {
		t.Errorf("PATH after adding twice: %q (before %q)", got, before)
	}
	removed, err := removeUserPath(dir)
	if err != nil || !removed {
		t.Fatalf("remove: %v %v", removed, err)
	}
	got, _, _ = userPath()
	if got != strings.Trim(before, ";") {
		t.Errorf("PATH after removing: %q, want %q", got, before)
	}
	if removed, err := removeUserPath(dir); removed || err != nil {
		t.Errorf("removing again: %v %v", removed, err)
	}
}

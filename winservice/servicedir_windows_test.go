package winservice

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestSecureServiceDir makes the service's directories and reads their
// owner back. Made by SYSTEM (the service), they are SYSTEM's with a
// protected DACL of SYSTEM and Administrators, and a second call takes
// them over. Wine gives a new directory its creator's SID whatever the
// descriptor asks: the second call must then refuse that user's directory,
// naming it. A file in the place of one is refused.
func TestSecureServiceDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Berth", "hyperv")
	if err := SecureServiceDir(dir); err != nil {
		t.Fatal(err)
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		t.Fatal(err)
	}
	again := SecureServiceDir(dir)
	switch o := owner.String(); o {
	case SystemSID, AdministratorsSID:
		s := sd.String()
		if !strings.Contains(s, "D:P") || strings.Count(s, "(A;") != 2 || !strings.Contains(s, ";;;SY)") || !strings.Contains(s, ";;;BA)") {
			t.Errorf("%s: %s, want a protected DACL of SYSTEM and Administrators", dir, s)
		}
		if again != nil {
			t.Errorf("again: %v", again)
		}
	default:
		t.Logf("the directory belongs to %s (its creator: this is not SYSTEM, or Wine ignored the descriptor)", o)
		if again == nil || !strings.Contains(again.Error(), o) {
			t.Errorf("a directory of %s taken over: %v", o, again)
		}
	}
	file := filepath.Join(t.TempDir(), "windows")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SecureServiceDir(file); err == nil || !strings.Contains(err.Error(), "not a plain directory") {
		t.Errorf("a file in its place: %v", err)
	}
}

package winservice

import (
	"strings"
	"testing"
)

func TestCheckServiceDirOwner(t *testing.T) {
	for _, sid := range []string{SystemSID, AdministratorsSID} {
		if err := checkServiceDirOwner(`C:\ProgramData\Berth`, sid); err != nil {
			t.Errorf("owner %s: %v", sid, err)
		}
	}
	user := "S-1-5-21-1004336348-1177238915-682003330-1001"
	err := checkServiceDirOwner(`C:\ProgramData\Berth\hyperv`, user)
	if err == nil || !strings.Contains(err.Error(), `C:\ProgramData\Berth\hyperv`) || !strings.Contains(err.Error(), user) {
		t.Errorf("a user's directory: %v", err)
	}
}

package vz

import (
	"os"
	"testing"

	"github.com/berth-dev/berth/internal/plist"
)

// Virtualization.framework refuses to create a VM in a process whose
// binary lacks this entitlement; make sign signs berth with this file.
func TestEntitlements(t *testing.T) {
	b, err := os.ReadFile("../../hack/darwin/berth.entitlements")
	if err != nil {
		t.Fatal(err)
	}
	d, err := plist.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := d["com.apple.security.virtualization"].(bool); !ok || !v {
		t.Fatalf("com.apple.security.virtualization = %#v, want true", d["com.apple.security.virtualization"])
	}
	// Only what the VM needs: berth is not sandboxed, so nothing else.
	if len(d) != 1 {
		t.Errorf("entitlements beyond virtualization: %v", d)
	}
}

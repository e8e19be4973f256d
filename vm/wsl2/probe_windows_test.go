package wsl2

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/registry"
)

// The reader against a key the test makes under HKCU, laid out as HCS
// lays out its compute systems.
func TestRegistryVMs(t *testing.T) {
	base := fmt.Sprintf(`Software\BerthTest\%d-%d`, os.Getpid(), time.Now().UnixNano())
	path := base + `\ComputeSystem`
	t.Cleanup(func() { deleteTree(t, registry.CURRENT_USER, base) })

	// Not there yet: no compute system runs.
	ids, err := registryVMs{root: registry.CURRENT_USER, path: path}.ListVMs()
	if err != nil || len(ids) != 0 {
		t.Fatalf("ListVMs of a missing key = %q, %v", ids, err)
	}
	for _, sub := range []string{"3F2504E0-4F89-11D3-9A0C-0305E82C3301", "{0a1b2c3d-0000-1111-2222-333344445555}", "NotAVM"} {
		k, _, err := registry.CreateKey(registry.CURRENT_USER, path+`\`+sub, registry.ALL_ACCESS)
		if err != nil {
			t.Fatalf("creating the test key: %v", err)
		}
		if err := k.SetDWordValue("ComputeSystemType", 2); err != nil {
			t.Fatal(err)
		}
		k.Close()
	}
	ids, err = registryVMs{root: registry.CURRENT_USER, path: path}.ListVMs()
	want := []string{"0a1b2c3d-0000-1111-2222-333344445555", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}
	if err != nil || !slices.Equal(ids, want) {
		t.Errorf("ListVMs = %q, %v; want %q", ids, err, want)
	}
}

// The real key is readable without elevation, or missing when nothing
// runs: either way ListVMs does not fail (under Wine it is missing).
func TestRegistryVMsOfHCS(t *testing.T) {
	ids, err := newVMLister().ListVMs()
	if err != nil {
		t.Fatalf("ListVMs of %s = %v", hcsComputeSystems, err)
	}
	t.Logf("compute systems: %q", ids)
}

func deleteTree(t *testing.T, root registry.Key, path string) {
	t.Helper()
	k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return
	}
	subs, _ := k.ReadSubKeyNames(-1)
	k.Close()
	for _, s := range subs {
		deleteTree(t, root, path+`\`+s)
	}
	if err := registry.DeleteKey(root, path); err != nil && !strings.Contains(err.Error(), "not find") {
		t.Errorf("removing the test key %s: %v", path, err)
	}
}

package wsl2

import (
	"strings"
	"testing"
)

func TestParseVMID(t *testing.T) {
	for in, want := range map[string]string{
		"3F2504E0-4F89-11D3-9A0C-0305E82C3301\n":   "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
		"{3f2504e0-4f89-11d3-9a0c-0305e82c3301}":   "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
		"  3f2504e0-4f89-11d3-9a0c-0305e82c3301  ": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
	} {
		if got, err := ParseVMID(in); err != nil || got != want {
			t.Errorf("ParseVMID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, says := range map[string]string{
		"wsl1\n":                              "WSL 1",
		"":                                    "not a VM id",
		"3f2504e0-4f89-11d3-9a0c-0305e82c330": "not a VM id",
		"3f2504e0-4f89-11d3-9a0c-0305e82c3301 extra": "not a VM id",
	} {
		if got, err := ParseVMID(in); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseVMID(%q) = %q, %v; want an error saying %q", in, got, err, says)
		}
	}
}

// TestLinkPort: each machine's link has its own port in the WSL VM that
// all of a user's distros share, the same one at every start (an agent
// that adopts the init dials it again), clear of the low ports.
func TestLinkPort(t *testing.T) {
	// Pinned: a later Berth must find the port an earlier one started.
	if got := LinkPort("berth-default"); got != 1745591998 {
		t.Errorf("LinkPort(berth-default) = %d, want 1745591998", got)
	}
	if LinkPort("Berth-Default") != LinkPort("berth-default") {
		t.Error("WSL's distro names ignore case; the port must too")
	}
	seen := map[uint32]string{}
	for _, m := range []string{"berth-default", "berth-work", "berth-work2", "berth-a", "berth-b", "berth-dev", "berth-test"} {
		p := LinkPort(m)
		if p < 1<<30 || p >= 1<<31 {
			t.Errorf("LinkPort(%s) = %d, outside [2^30, 2^31)", m, p)
		}
		if o, dup := seen[p]; dup {
			t.Errorf("LinkPort(%s) = LinkPort(%s) = %d", m, o, p)
		}
		seen[p] = m
	}
	if got := linkArg("berth-default"); got != "vsock:1745591998" {
		t.Errorf("linkArg = %q", got)
	}
}

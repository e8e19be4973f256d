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

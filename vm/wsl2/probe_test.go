package wsl2

import (
	"slices"
	"testing"
)

func TestCandidateIDs(t *testing.T) {
	got := candidateIDs([]string{
		"3F2504E0-4F89-11D3-9A0C-0305E82C3301",
		"{0a1b2c3d-0000-1111-2222-333344445555}",
		"3f2504e0-4f89-11d3-9a0c-0305e82c3301", // the first again
		"Settings", "", "3f2504e0-4f89-11d3-9a0c",
	})
	want := []string{"0a1b2c3d-0000-1111-2222-333344445555", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}
	if !slices.Equal(got, want) {
		t.Errorf("candidateIDs = %q, want %q", got, want)
	}
	if got := candidateIDs(nil); len(got) != 0 {
		t.Errorf("candidateIDs(nil) = %q", got)
	}
}

package qemu

import (
	"errors"
	"strings"
	"testing"
)

func TestStallReason(t *testing.T) {
	got := stallReason("/home/u/.berth/default", 12<<20, nil)
	for _, want := range []string{"host's disk is full", "/home/u/.berth/default", "12 MiB free", "goes on by itself"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if got := stallReason("/d", 0, errors.New("statfs: denied")); !strings.Contains(got, "statfs: denied") || !strings.Contains(got, "/d") {
		t.Errorf("with an unknown free space: %q", got)
	}
}

package hostagent

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/vm"
)

func TestSharesDownReason(t *testing.T) {
	got := sharesDownReason([]vm.ShareDown{{HostPath: "/home/u", Reason: "its virtiofsd (pid 7) exited"}, {HostPath: "/src", Reason: "gone"}})
	want := "share /home/u: its virtiofsd (pid 7) exited; share /src: gone; its files are unreachable in the machine until `berth restart`"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestDiskFullWarning(t *testing.T) {
	const gib = 1 << 30
	for _, c := range []struct {
		name string
		d    agentapi.DataDisk
		want string // a part of the warning; "" for none
	}{
		{"not measured", agentapi.DataDisk{}, ""},
		{"room", agentapi.DataDisk{SizeBytes: 60 * gib, FreeBytes: 10 * gib, FreeInodes: 100}, ""},
		{"just enough on a small disk", agentapi.DataDisk{SizeBytes: 4 * gib, FreeBytes: 41 << 20, FreeInodes: 100}, ""},
		{"full", agentapi.DataDisk{SizeBytes: 4 * gib, FreeBytes: 0, FreeInodes: 100}, "0 B free of 4.0 GiB"},
		{"nearly full on a big disk", agentapi.DataDisk{SizeBytes: 100 * gib, FreeBytes: 60 << 20, FreeInodes: 100}, "60.0 MiB free of 100.0 GiB"},
		{"no inodes", agentapi.DataDisk{SizeBytes: 4 * gib, FreeBytes: 2 * gib}, "no inode free"},
	} {
		got := diskFullWarning(c.d)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if c.want != "" && !strings.Contains(got, "docker system prune") {
			t.Errorf("%s: the warning does not say what to do: %q", c.name, got)
		}
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 29: "1.5 GiB", 5 << 40: "5.0 TiB"} {
		if got := sizeString(n); got != want {
			t.Errorf("sizeString(%d) = %q, want %q", n, got, want)
		}
	}
}

package initd

import (
	"slices"
	"testing"
)

func TestShareMounts(t *testing.T) {
	const mountinfo = `22 1 0:21 / / rw,relatime - ext4 /dev/vda ro
30 22 254:16 / /mnt/data rw,relatime shared:2 - ext4 /dev/vdb rw
41 22 0:40 / /root rw,relatime shared:9 - virtiofs berth0 rw
42 41 0:41 / /root/my\040code rw,relatime shared:10 - virtiofs berth1 rw
43 22 0:42 / /Users rw,relatime - 9p berth2 rw,trans=virtio
44 22 0:43 / /proc rw - proc proc rw
`
	got := shareMounts(mountinfo)
	want := []string{"/root/my code", "/root", "/Users"}
	if !slices.Equal(got, want) {
		t.Fatalf("shareMounts = %q, want %q", got, want)
	}
	if got := shareMounts("garbage\n\n1 2 3 - virtiofs\n"); len(got) != 0 {
		t.Errorf("malformed lines gave %q", got)
	}
}

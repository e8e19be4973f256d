package initd

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestMountFSType(t *testing.T) {
	// Recorded from a guest: the root, a virtiofs share, an sshfs share
	// whose path has a space, and a second mount on top of one path.
	const mi = `22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/ro
30 22 0:25 / /home/me rw,nodev,relatime shared:10 - virtiofs berth0 rw
31 22 0:26 / /mnt/c/Users/me/My\040Projects rw,nosuid,nodev,relatime shared:11 - fuse.sshfs berth:/ rw,user_id=0,group_id=0,allow_other
32 30 0:27 / /home/me rw,relatime shared:12 master:3 - fuse.sshfs berth:/ rw,user_id=0,group_id=0
`
	for path, want := range map[string]string{
		"/":                               "overlay",
		"/home/me":                        "fuse.sshfs",
		"/mnt/c/Users/me/My Projects":     "fuse.sshfs",
		"/mnt/c/Users/me/My\\040Projects": "",
		"/srv":                            "",
	} {
		if got := mountFSType(mi, path); got != want {
			t.Errorf("mountFSType(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestShareTagLine(t *testing.T) {
	reader := func(s string, err error) func([]byte) (int, error) {
		return func(b []byte) (int, error) {
			if s == "" {
				return 0, err
			}
			n := copy(b, s)
			s = s[n:]
			return n, nil
		}
	}
	eof := errors.New("EOF")
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"berth0\nSSH-FXP...", "berth0", true},
		{"\n", "", false},
		{"berth0", "", false}, // no newline before the end
		{strings.Repeat("x", 65) + "\n", "", false},
		{strings.Repeat("x", 64) + "\n", strings.Repeat("x", 64), true},
	} {
		got, ok := shareTagLine(reader(c.in, eof))
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestSshfsArgs(t *testing.T) {
	rw := sshfsArgs("/home/me", false)
	ro := sshfsArgs("/home/me", true)
	if rw[0] != "sshfs" || rw[len(rw)-1] != "/home/me" || !slices.Contains(rw, "-f") {
		t.Errorf("args %v", rw)
	}
	if !strings.Contains(strings.Join(rw, " "), "passive") || strings.Contains(strings.Join(rw, " "), ",ro") {
		t.Errorf("read-write args %v", rw)
	}
	if !strings.Contains(strings.Join(ro, " "), ",ro") {
		t.Errorf("read-only args %v", ro)
	}
}

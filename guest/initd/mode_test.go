package initd

import (
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Options
		bad  bool
	}{
		// The VM's kernel passes the words of its command line it does not know.
		{args: nil, want: Options{}},
		{args: []string{"quiet", "berth.debug"}, want: Options{}},
		{args: []string{"--wsl"}, want: Options{WSL: true, Config: "-", Link: LinkVsock}},
		{args: []string{"--wsl", "--config", "/run/c.json", "--link", "unix:/tmp/link.sock"}, want: Options{WSL: true, Config: "/run/c.json", Link: "unix:/tmp/link.sock"}},
		{args: []string{"--wsl", "--link=vsock"}, want: Options{WSL: true, Config: "-", Link: LinkVsock}},
		{args: []string{"--wsl", "--link", "vsock:1098907648"}, want: Options{WSL: true, Config: "-", Link: "vsock:1098907648"}},
		{args: []string{"--wsl", "--link", "tcp"}, bad: true},
		{args: []string{"--wsl", "--link", "vsock:"}, bad: true},
		{args: []string{"--wsl", "--link", "vsock:0"}, bad: true},
		{args: []string{"--wsl", "--link", "vsock:4294967295"}, bad: true}, // VMADDR_PORT_ANY
		{args: []string{"--wsl", "--link", "vsock:4294967296"}, bad: true},
		{args: []string{"--wsl", "--link", "vsock:+5"}, bad: true},
		{args: []string{"--wsl", "--link", "vsock:06215"}, bad: true},
		{args: []string{"--wsl", "--link", "unix:relative.sock"}, bad: true},
		{args: []string{"--wsl", "--link", "unix:/a/../b.sock"}, bad: true},
		{args: []string{"--wsl", "--link", "unix:/" + strings.Repeat("x", 107)}, bad: true},
		{args: []string{"--wsl", "--listen", "tcp"}, bad: true}, // gone: the link carries both APIs
		{args: []string{"--wsl", "--bogus"}, bad: true},
		{args: []string{"--wsl", "extra"}, bad: true},
		{args: []string{"--wsl", "--config", ""}, bad: true},
	} {
		got, err := ParseArgs(tc.args)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want error %v", tc.args, err, tc.bad)
			continue
		}
		if !tc.bad && got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

func TestLinkVsockPort(t *testing.T) {
	for l, want := range map[Link]uint32{
		LinkVsock:          6215,
		"vsock:1098907648": 1098907648,
		"vsock:4294967294": 4294967294,
		"unix:/x.sock":     0,
	} {
		if got := l.VsockPort(); got != want {
			t.Errorf("%q.VsockPort() = %d, want %d", l, got, want)
		}
	}
}

func TestLinkUnixPath(t *testing.T) {
	if p := LinkVsock.UnixPath(); p != "" {
		t.Errorf("vsock: %q", p)
	}
	if p := Link("unix:/x.sock").UnixPath(); p != "/x.sock" {
		t.Errorf("unix: %q", p)
	}
}

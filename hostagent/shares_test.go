package hostagent

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/config"
)

func TestPlanSharesUnix(t *testing.T) {
	p, err := planShares("linux", []config.Share{
		{Path: "/home/me/src/ro", ReadOnly: true},
		{Path: "/home/me/"},
		{Path: "/srv/data", WindowsPath: `C:\data`},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Parents first; same path in the guest.
	want := []string{"/home/me", "/srv/data", "/home/me/src/ro"}
	for i, g := range p.guest {
		if g.Path != want[i] || p.vm[i].Tag != g.Tag || p.vm[i].ReadOnly != g.ReadOnly {
			t.Errorf("share %d: vm %+v guest %+v; want path %s", i, p.vm[i], g, want[i])
		}
	}
	if got, err := p.bridge.Shares[1], error(nil); got.WindowsPath != `C:\data` || got.GuestPath != "/srv/data" || err != nil {
		t.Errorf("bridge share: %+v", got)
	}
	if d := strings.Join(p.describe(), ", "); d != "/home/me/, /srv/data, /home/me/src/ro (read-only)" && d != "/home/me/ at /home/me, /srv/data, /home/me/src/ro (read-only)" {
		t.Errorf("describe: %s", d)
	}
}

func TestPlanSharesWindows(t *testing.T) {
	p, err := planShares("windows", []config.Share{{Path: `C:\Users\Me`}, {Path: `E:\`}})
	if err != nil {
		t.Fatal(err)
	}
	if p.guest[0].Path != "/mnt/e" || p.guest[1].Path != "/mnt/c/Users/Me" {
		t.Fatalf("guest paths: %+v", p.guest)
	}
	if p.bridge.Shares[1].WindowsPath != `C:\Users\Me` {
		t.Fatalf("windows path defaults to the host path: %+v", p.bridge.Shares[1])
	}
}

func TestPlanSharesRefusesGuestTrees(t *testing.T) {
	_, err := planShares("linux", []config.Share{{Path: "/"}, {Path: "/var"}, {Path: "/usr/local"}, {Path: "/a"}, {Path: "/a/"}, {Path: "rel"}})
	for _, want := range []string{"shares[0]", "shares[1].path: \"/var\": overlaps the VM's own /var/lib/docker", "shares[2]", "shares[4].path: \"/a/\" is shared already", "shares[5]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

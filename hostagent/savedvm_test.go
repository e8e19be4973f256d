package hostagent

import (
	"testing"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/vm"
)

// The key a saved VM must match changes with the settings, the image and
// the link; fastStart off gives none (the driver then never restores).
func TestSaveKey(t *testing.T) {
	mk := func() *boot {
		return &boot{settings: config.Resolved{CPUs: 2, MemoryMiB: 2048, FastStart: true}, man: &kernel.Manifest{Version: "v1"}, link: vm.LinkSpec{Link: vm.LinkVhostUser}}
	}
	b := mk()
	k := saveKey(b)
	if k == "" || saveKey(b) != k {
		t.Fatalf("key %q is not stable", k)
	}
	for name, change := range map[string]func(*boot){
		"settings": func(b *boot) { b.settings.Daemon = map[string]any{"debug": true} },
		"image":    func(b *boot) { b.man = &kernel.Manifest{Version: "v2"} },
		"link":     func(b *boot) { b.link.Link = vm.LinkStream },
	} {
		c := mk()
		change(c)
		if saveKey(c) == k {
			t.Errorf("the key does not change with the %s", name)
		}
	}
	b.settings.FastStart = false
	if saveKey(b) != "" {
		t.Error("fastStart off still has a key")
	}
}

// Only a stop saves the VM: not a restart, not a signal, not a stop that
// asked for a fresh boot (`berth restart`).
func TestOnlyAStopSaves(t *testing.T) {
	for _, tc := range []struct {
		name   string
		q      request
		noSave bool
		want   bool
	}{
		{"berth stop", reqExit, false, true},
		{"the page's Stop", reqStandby, false, true},
		{"berth restart's stop", reqExit, true, false},
		{"a restart", reqRestart, false, false},
		{"a signal (nothing asked)", reqNone, false, false},
	} {
		c := newControl()
		if tc.noSave {
			c.noSave()
		}
		if tc.q != reqNone {
			if err := c.ask(tc.q, api.StartRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.stopping(); got != tc.want {
			t.Errorf("%s: saves %v, want %v", tc.name, got, tc.want)
		}
		c.take()
		if c.stopping() {
			t.Errorf("%s: the next run's end would save without a stop", tc.name)
		}
	}
}

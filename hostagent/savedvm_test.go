package hostagent

import (
	"testing"

	"github.com/berth-dev/berth/config"
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

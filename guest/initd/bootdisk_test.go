package initd

import (
	"encoding/json"
	"testing"

	"github.com/berth-dev/berth/guest/guestconfig"
)

func TestRootBoot(t *testing.T) {
	cfgBytes := func(c guestconfig.Config) []byte {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name        string
		cfg         []byte
		root, order string
	}{
		{"virtio", cfgBytes(guestconfig.Default()), "/dev/vda", "order"},
		{"hyper-v", cfgBytes(guestconfig.HyperV(guestconfig.Default())), "/dev/sda", "order.hyperv"},
		{"not JSON", []byte("{"), "/dev/vda", "order"},
		{"invalid", []byte(`{"rootDevice":"/dev/../sda"}`), "/dev/vda", "order"},
	} {
		root, order := rootBoot(c.cfg)
		if root != c.root || order != c.order {
			t.Errorf("%s: %s %s, want %s %s", c.name, root, order, c.root, c.order)
		}
	}
}

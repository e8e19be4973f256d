package tray

import (
	"runtime"
	"testing"

	"github.com/berth-dev/berth/vm"
)

// The tray stops machines too: it must find a machine's VM through the
// same driver as the CLI (it once had none linked in, and its cleanup
// removed a live QEMU's pidfile).
func TestTrayHasTheDefaultDriver(t *testing.T) {
	name, _, err := vm.CapabilitiesOf("", runtime.GOOS)
	if err != nil || name == "" {
		t.Fatalf("the tray binary has no VM driver: %q %v (registered: %v)", name, err, vm.Drivers())
	}
}

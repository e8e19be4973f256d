package winservice

import (
	"runtime"
	"testing"

	"github.com/berth-dev/berth/vm"
	"github.com/berth-dev/berth/vm/hyperv"
)

// TestHyperVDriverRegistered: linking this package registers the Hyper-V
// driver on every OS (its capabilities known everywhere); only Windows
// has the service's client, elsewhere it is unavailable, saying why.
func TestHyperVDriverRegistered(t *testing.T) {
	for _, goos := range []string{"windows", "linux", "darwin"} {
		name, c, err := vm.CapabilitiesOf(hyperv.DriverName, goos)
		if err != nil || name != hyperv.DriverName || c.Boot != vm.BootService {
			t.Errorf("%s: %s %+v %v", goos, name, c, err)
		}
	}
	if runtime.GOOS != "windows" {
		if connectService != nil {
			t.Error("a client of berth-service where there is none")
		}
		return
	}
	m, err := connectService()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*Client); !ok {
		t.Errorf("the Hyper-V driver's Manager is %T, want the service's Client", m)
	}
}

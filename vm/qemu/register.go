package qemu

import "github.com/berth-dev/berth/vm"

// QEMU is the portable driver: it registers on every OS.
func init() {
	vm.Register(vm.Factory{
		Name: "qemu",
		Capabilities: func() vm.Capabilities {
			return vm.Capabilities{Accelerators: []string{"kvm", "hvf", "whpx", "tcg"}, ShareTypes: []string{"virtiofs", "9p"}}
		},
		New: func(m *vm.Machine) (vm.Driver, error) { return New(m) },
	})
}

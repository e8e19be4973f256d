package hyperv

import (
	"errors"

	"github.com/berth-dev/berth/internal/hvsock"
	"github.com/berth-dev/berth/vm"
)

// The Hyper-V driver is registered by the package of berth-service's
// client (winservice), which imports this one for the contract: this
// package cannot import it. It is registered on every OS, so every OS's
// capabilities are known and tested; it runs on Windows, through
// berth-service.

// ErrNoService: this build links no client of berth-service, which the
// driver needs to create its VM.
var ErrNoService = errors.New("the hyperv driver needs berth-service, the elevated Windows service of the per-machine install, and this build has no client for it")

// Factory is the driver's factory, reaching berth-service through
// connect (the service's pipe client, acting for this process's user:
// the service reads the user from the pipe). A nil connect makes a
// factory whose driver is unavailable (ErrNoService), so the OS default
// skips it.
func Factory(connect func() (Manager, error)) vm.Factory {
	f := vm.Factory{
		Name:         DriverName,
		Capabilities: capabilities,
		Available:    func() error { return ErrNoService },
		New:          func(*vm.Machine) (vm.Driver, error) { return nil, ErrNoService },
	}
	if connect == nil {
		return f
	}
	f.Available = available
	f.New = func(m *vm.Machine) (vm.Driver, error) {
		mgr, err := connect()
		if err != nil {
			return nil, err
		}
		sid, err := currentUserSID()
		if err != nil {
			return nil, err
		}
		return NewDriver(m, mgr, sid, hvsock.New())
	}
	return f
}

// capabilities is the same on every OS: the service boots its own copy of
// the image, with the engine's settings from the agent's guest config
// (vm.BootService: the agent writes it as a file; the driver sends the
// settings the service takes, GuestSettings), the data
// disk as a VHDX that the service makes, the guest listening on AF_VSOCK
// for the network, shared folders served by the agent over SFTP through
// that network (vm.ShareSFTP). The VM belongs to the service and outlives
// the agent; a later agent adopts it.
func capabilities(string) vm.Capabilities {
	return vm.Capabilities{
		Boot:          vm.BootService,
		SurvivesAgent: true,
		DataDisk:      vm.DataDisk{Format: vm.DiskVHDX, CreatedBy: vm.PartyDriver},
		Links:         []vm.LinkSpec{{Link: vm.LinkHvsock, Listener: vm.PartyGuest}},
		Accelerators:  []string{accelerator},
		ShareTypes:    []string{vm.ShareSFTP},
	}
}

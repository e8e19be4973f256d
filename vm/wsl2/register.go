package wsl2

import (
	"errors"
	"runtime"

	"github.com/berth-dev/berth/vm"
)

// WSL 2 is registered on every OS, so every OS's capabilities are known and
// tested; New works on Windows only.
func init() {
	vm.Register(vm.Factory{
		Name:         DriverName,
		Capabilities: capabilities,
		New:          func(m *vm.Machine) (vm.Driver, error) { return NewDriver(m) },
	})
}

// DriverName is the driver's name.
const DriverName = "wsl2"

// The driver's files in the machine directory.
const (
	distroDir  = "distro"   // the distro's own disk (ext4.vhdx), made by wsl --import
	recordFile = "wsl.json" // the running guest init's wsl.exe, while it runs
	logFile    = "wsl.log"  // the driver's own record of its wsl.exe calls
)

// Shares reach the guest as WSL mounts Windows drives: at /mnt/<drive>.
const shareDrvfs = "wsl-drvfs"

// capabilities is the same on every OS: the image's root file system
// imported as a distro (WSL brings the kernel and its own init), the
// distro's disk as the data disk, the guest listening on AF_VSOCK for the
// network, Windows drives at /mnt/<drive>. The VM outlives the agent: the
// guest init's wsl.exe writes its console itself, and a later agent adopts
// it through its record (wsl.json) and dials its link again.
func capabilities(string) vm.Capabilities {
	return vm.Capabilities{
		Boot:          vm.BootRootFS,
		SurvivesAgent: true,
		DataDisk:      vm.DataDisk{Format: vm.DiskDistro, CreatedBy: vm.PartyDriver},
		Links:         []vm.LinkSpec{{Link: vm.LinkHvsock, Listener: vm.PartyGuest}},
		Accelerators:  []string{accelerator},
		ShareTypes:    []string{shareDrvfs},
		RuntimeFiles:  []string{recordFile},
		LogFiles:      []string{logFile},
	}
}

// accelerator is what runs every WSL 2 VM.
const accelerator = "hyperv"

// ErrWindowsOnly: WSL exists on Windows only.
var ErrWindowsOnly = errors.New("the wsl2 driver runs on Windows only (WSL 2 is a Windows feature)")

// NewDriver is the WSL 2 driver of m, driving the wsl.exe in PATH.
func NewDriver(m *vm.Machine) (*Driver, error) {
	if runtime.GOOS != "windows" {
		return nil, ErrWindowsOnly
	}
	return newDriver(m, New(""), newHvsockDialer())
}

package vz

import "github.com/berth-dev/berth/vm"

// vz is registered on every OS, so every OS's capabilities are known and
// tested; only a darwin build with cgo can run it (Available).
func init() {
	vm.Register(vm.Factory{
		Name:         DriverName,
		Capabilities: capabilities,
		New:          func(m *vm.Machine) (vm.Driver, error) { return New(m) },
		Available:    available,
	})
}

// DriverName is the driver's name.
const DriverName = "vz"

// The driver's files in the machine directory; the helper's network socket
// is the machine's (vm.Machine.Network.Socket).
const (
	specFile    = "vz-spec.json" // the VM the driver asks the helper for
	pidFile     = "vz.pid"       // the helper's pidfile
	recordFile  = "vz.json"      // the running helper, for a later agent to adopt
	controlSock = "vz.sock"      // the helper's control socket
	logFile     = "vz.log"       // the helper's own output
)

// accelerator: Virtualization.framework runs its VMs on Hypervisor.framework.
const accelerator = "hvf"

// shareVirtiofs: each share is a virtio-fs device of the VM.
const shareVirtiofs = "virtiofs"

// capabilities: the image's kernel and the agent's initrd booted directly,
// the agent's raw data disk, the helper listening on the network socket
// (vfkit framing: one frame per datagram), a VM that outlives its agent
// (the helper runs it, and a later agent adopts the helper), virtio-fs
// shares on macOS.
func capabilities(goos string) vm.Capabilities {
	c := vm.Capabilities{
		Boot:          vm.BootKernel,
		DataDisk:      vm.DataDisk{Format: vm.DiskRaw, CreatedBy: vm.PartyAgent},
		Links:         []vm.LinkSpec{{Link: vm.LinkVfkit, Listener: vm.PartyHypervisor}},
		SurvivesAgent: true,
		Accelerators:  []string{accelerator},
		RuntimeFiles:  []string{pidFile, recordFile, controlSock, specFile},
		LogFiles:      []string{logFile},
	}
	if goos == "darwin" {
		c.ShareTypes = []string{shareVirtiofs}
		c.Rosetta = true // on Apple silicon with macOS 13+ (forHost says when not)
	}
	return c
}

// available says whether this host and build can run a vz VM: a darwin
// build with cgo sets newHypervisor (vz_darwin.go), without which the
// helper refuses, on macOS 13 or later.
func available() error {
	_, err := hostVersion()
	return err
}

// hostVersion is available's answer and, when it is nil, this Mac's
// product version ("14.5").
func hostVersion() (string, error) {
	if newHypervisor == nil {
		return "", errNoVZ
	}
	v, err := hostMacOSVersion()
	if err != nil {
		return "", err
	}
	return v, checkMacOS(v)
}

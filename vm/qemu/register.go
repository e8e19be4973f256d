package qemu

import "github.com/berth-dev/berth/vm"

// QEMU is the portable driver: it registers on every OS.
func init() {
	vm.Register(vm.Factory{
		Name:         "qemu",
		Capabilities: capabilities,
		New:          func(m *vm.Machine) (vm.Driver, error) { return New(m) },
	})
}

// The driver's files in the machine directory.
const (
	qmpSockFile   = "qmp.sock"      // QEMU's monitor
	pidFile       = "qemu.pid"      // QEMU's pidfile
	logFile       = "qemu.log"      // QEMU's own output
	infoFile      = "qemu.json"     // the running VM, for a later agent to adopt
	accelFile     = "accel.json"    // which accelerator works on this host, and why
	virtiofsdLog  = "virtiofsd.log" // the share daemons' output
	vfsSockGlob   = "vfs*.sock"     // one vhost-user socket per share
	vfsSockFormat = "vfs%d.sock"
)

// capabilities is what QEMU offers on goos: the image's kernel and an
// initrd the agent writes, the raw disk the agent makes, QEMU listening on
// the network socket (the VM outlives its agent), the agent as the card's
// vhost-user back end on Linux and QEMU's stream of frames everywhere,
// virtiofs where virtiofsd runs (Linux), and everywhere shares over the
// agent's SFTP (vm.ShareSFTP; the only way on macOS and Windows).
func capabilities(goos string) vm.Capabilities {
	c := vm.Capabilities{
		Boot:          vm.BootKernel,
		DataDisk:      vm.DataDisk{Format: vm.DiskRaw, CreatedBy: vm.PartyAgent},
		SurvivesAgent: true,
		Accelerators:  accelFor(goos, "", "", true), // a host that can run its own guest arch
		RuntimeFiles:  []string{qmpSockFile, pidFile, infoFile, vfsSockGlob},
		LogFiles:      []string{logFile, virtiofsdLog, accelFile},
	}
	if goos == "linux" {
		c.Links = append(c.Links, vm.LinkSpec{Link: vm.LinkVhostUser, Listener: vm.PartyHypervisor})
		c.ShareTypes = []string{shareVirtiofs}
	}
	c.ShareTypes = append(c.ShareTypes, vm.ShareSFTP)
	c.Links = append(c.Links, vm.LinkSpec{Link: vm.LinkStream, Listener: vm.PartyHypervisor})
	return c
}

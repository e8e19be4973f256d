package qemu

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/vm"
)

// binaryName is QEMU's system emulator for a guest architecture.
func binaryName(arch string) string {
	if arch == "arm64" {
		return "qemu-system-aarch64"
	}
	return "qemu-system-x86_64"
}

// missingBinaryHint tells the user which package holds the emulator.
func missingBinaryHint(goos, arch string) string {
	switch goos {
	case "darwin":
		return "install it with `brew install qemu`"
	case "windows":
		return "install QEMU for Windows and add it to PATH"
	}
	pkg := "qemu-system-x86"
	if arch == "arm64" {
		pkg = "qemu-system-arm"
	}
	return fmt.Sprintf("install the package %s (Debian/Ubuntu: sudo apt-get install %s)", pkg, pkg)
}

// consoleDevice is the guest's name for its console: the serial port on
// amd64; on arm64 a virtio console, as under Virtualization.framework, so
// the guest is the same under both hypervisors.
func consoleDevice(arch string) string {
	if arch == "arm64" {
		return "hvc0"
	}
	return "ttyS0"
}

// consoleArgs connect the console device to the console log.
func consoleArgs(arch, log string) []string {
	chardev := "file,id=console0,path=" + escapeOpt(log)
	if arch == "arm64" {
		return []string{
			"-chardev", chardev,
			"-device", "virtio-serial-pci,id=console",
			"-device", "virtconsole,chardev=console0,bus=console.0",
		}
	}
	return []string{"-chardev", chardev, "-serial", "chardev:console0"}
}

// machineCPU is QEMU's machine type and CPU model for a guest
// architecture and accelerator.
func machineCPU(arch, accel string) (machine, cpu string) {
	if arch == "arm64" {
		if accel != "tcg" {
			return "virt,gic-version=max", "host"
		}
		// The emulated GICv3 (max would pick it too, but say it). The
		// default pointer authentication is QARMA, which costs most of
		// an emulated arm64 guest's time; the implementation-defined
		// algorithm is cheap to emulate and the guest cannot tell.
		return "virt,gic-version=3", "max,pauth-impdef=on"
	}
	if accel != "tcg" {
		return "q35", "host"
	}
	// Under emulation, without ERMS: the guest kernel then copies with
	// "rep movsq" (8 bytes a step) where it used "rep movsb" (1 byte a
	// step), and an emulated step costs the same either way: a pipe in
	// the guest moves data 2–3 times faster, forwarded TCP 1.5–2 times.
	return "q35", "max,erms=off"
}

// files are the driver's own paths in the machine's state directory.
type files struct {
	QMP, PID, Log string
	// Info records the running VM (vm.Info) for a later process to adopt.
	Info string
}

// buildArgs translates a machine into QEMU's command line for one accelerator.
func buildArgs(m *vm.Machine, accel string, f files) []string {
	machine, cpu := machineCPU(m.Arch, accel)
	args := []string{
		"-name", "berth-" + m.Name,
		"-nodefaults", "-no-user-config",
		"-M", machine,
		"-accel", accelArg(accel),
		"-cpu", cpu,
		"-smp", fmt.Sprint(m.CPUs),
		"-m", fmt.Sprintf("%dM", m.MemoryMiB),
		"-display", "none",
		"-kernel", m.Kernel,
		"-append", strings.TrimSpace(m.Cmdline + " console=" + consoleDevice(m.Arch)),
	}
	if m.Initrd != "" {
		args = append(args, "-initrd", m.Initrd)
	}
	for i, d := range m.Disks {
		id := fmt.Sprintf("disk%d", i)
		opts := fmt.Sprintf("if=none,id=%s,file=%s,format=raw", id, escapeOpt(d.Path))
		if d.ReadOnly {
			opts += ",readonly=on"
		} else {
			// Deleted data in the guest frees space in the sparse image.
			opts += ",discard=unmap,detect-zeroes=unmap"
		}
		args = append(args, "-drive", opts, "-device", "virtio-blk-pci,drive="+id)
	}
	args = append(args, netArgs(m.Network, accel)...)
	args = append(args, "-device", "virtio-rng-pci",
		// The guest reports the memory it freed (pageReporting in the
		// host agent): QEMU gives it back to the host, so the VM's
		// footprint falls again after a big build.
		"-device", "virtio-balloon-pci,free-page-reporting=on")
	args = append(args, consoleArgs(m.Arch, m.ConsoleLog)...)
	args = append(args,
		"-qmp", "unix:"+escapeOpt(f.QMP)+",server=on,wait=off",
		"-pidfile", f.PID,
		// A guest that reboots or panics ends the VM; the agent decides what next.
		"-no-reboot",
	)
	return args
}

// netArgs are the VM's network card and its link to the agent. QEMU
// listens and the agent connects: when the agent dies, QEMU listens again,
// and the next agent joins the running VM. No option ROM: nothing boots
// from the network, and loading iPXE costs boot time.
func netArgs(n vm.Network, accel string) []string {
	card := "virtio-net-pci,netdev=net0,mac=" + n.MAC + ",romfile="
	if n.Link == vm.LinkVhostUser {
		if accel == "tcg" {
			// QEMU 7.2 crashes (SIGSEGV in msix_set_vector_notifiers,
			// under vhost_net_start) when the guest starts a vhost-user
			// card with MSI-X and no KVM. The card interrupts through
			// its INTx line instead.
			card += ",vectors=0"
		}
		// QEMU waits at start for the agent to connect; the card's
		// offloads are what the agent's back end offers.
		return []string{
			"-chardev", "socket,id=net0,server=on,wait=off,path=" + escapeOpt(n.Socket),
			"-netdev", "vhost-user,id=net0,chardev=net0",
			"-device", card,
		}
	}
	return []string{
		"-netdev", "stream,id=net0,server=on,addr.type=unix,addr.path=" + escapeOpt(n.Socket),
		"-device", card,
	}
}

// escapeOpt doubles commas, QEMU's escape inside option values.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// accelArg is QEMU's -accel value. Software emulation runs the vCPUs in one
// host thread: with multi-threaded TCG, a guest kernel that patches its own
// code (static keys, at runtime, through int3) can run a stale copy on
// another vCPU and die with an "Oops: int3" — about one boot in fourteen
// with QEMU 7.2 and two vCPUs. One thread costs little: the host's other
// cores run the agent, the network and the emulated devices.
func accelArg(accel string) string {
	if accel == "tcg" {
		return "tcg,thread=single"
	}
	return accel
}

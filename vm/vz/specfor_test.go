package vz

import (
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm"
)

func goodMachine() *vm.Machine {
	return &vm.Machine{
		Name: "m", Arch: "arm64", CPUs: 4, MemoryMiB: 2048,
		Kernel: "/img/vmlinuz", Initrd: "/m/initrd.img", Cmdline: "console=hvc0 quiet",
		Disks:      []vm.Disk{{Path: "/img/rootfs.img", ReadOnly: true}, {Path: "/m/data.img"}},
		Shares:     []vm.Share{{Tag: "home", HostPath: "/Users/me", ReadOnly: true}},
		Network:    vm.Network{Socket: "/m/net.sock", MAC: guestconfig.GuestMAC, Link: vm.LinkVfkit},
		ConsoleLog: "/m/serial.log", BootMarker: "x", StateDir: "/m",
	}
}

func TestSpecFor(t *testing.T) {
	m := goodMachine()
	s, err := specFor(m)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kernel != m.Kernel || s.Initrd != m.Initrd || s.Cmdline != m.Cmdline || s.CPUs != 4 || s.MemoryMiB != 2048 ||
		s.MAC != guestconfig.GuestMAC || s.NetSocket != m.Network.Socket || s.ConsoleLog != m.ConsoleLog || s.Rosetta {
		t.Errorf("spec %+v", s)
	}
	if !slices.Equal(s.Disks, m.Disks) || !slices.Equal(s.Shares, m.Shares) {
		t.Errorf("disks %v, shares %v", s.Disks, s.Shares)
	}
	// The link's MTU, which vz takes (up to 65535 on macOS 13+).
	if s.MTU != guestconfig.LinkMTU || s.MTU > maxMTU {
		t.Errorf("mtu %d, want the link's %d", s.MTU, guestconfig.LinkMTU)
	}
	m.Disks[0].Path = "/changed"
	if s.Disks[0].Path == "/changed" {
		t.Error("the spec shares the machine's disk slice")
	}
}

func TestSpecForNamesEveryField(t *testing.T) {
	m := &vm.Machine{
		Kernel: "vmlinuz", CPUs: 0, MemoryMiB: 64, Accel: "tcg",
		Disks:   []vm.Disk{{Path: "data.img"}},
		Shares:  []vm.Share{{Tag: RosettaTag, HostPath: "/x"}},
		Network: vm.Network{Link: vm.LinkStream, MAC: "nope"},
	}
	_, err := specFor(m)
	if err == nil {
		t.Fatal("a bad machine was accepted")
	}
	for _, field := range []string{"kernel", "initrd", "consoleLog", "network.socket", "network.link", "network.mac",
		"cpus", "memory", "accel", "disks[0].path", "shares[0].tag"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("the error does not name %s: %v", field, err)
		}
	}
}

func TestCheckArch(t *testing.T) {
	if err := checkArch("arm64", "arm64"); err != nil {
		t.Error(err)
	}
	if err := checkArch("arm64", "amd64"); err == nil || !strings.Contains(err.Error(), "--driver qemu") {
		t.Errorf("an amd64 guest on arm64: %v", err)
	}
}

// forHost: the gzipped arm64 kernel unpacked, hvc0 on the command line,
// Rosetta as asked and as the Mac allows; an Intel Mac before 15.5 gets
// nopku and no Rosetta.
func TestForHost(t *testing.T) {
	dir := t.TempDir()
	spec := Spec{Kernel: writeFile(t, dir, "vmlinuz", gzipped(t, arm64Image(4096))), Cmdline: "quiet"}
	got, err := forHost(spec, true, dir, "arm64", "14.5")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kernel == spec.Kernel || detectKernelFile(t, got.Kernel) != kernelARM64Image {
		t.Errorf("kernel %s: want the unpacked arm64 Image", got.Kernel)
	}
	if got.Cmdline != "quiet console=hvc0" || !got.Rosetta {
		t.Errorf("arm64, macOS 14.5: %+v", got)
	}
	if got, err := forHost(spec, false, dir, "arm64", "14.5"); err != nil || got.Rosetta {
		t.Errorf("Rosetta not asked for: %+v, %v", got, err)
	}
	intel := Spec{Kernel: writeFile(t, dir, "bzImage", bzImage(4096)), Cmdline: "quiet"}
	if got, err := forHost(intel, false, dir, "amd64", "14.5"); err != nil || got.Cmdline != "quiet console=hvc0 nopku" {
		t.Errorf("Intel, macOS 14.5: %+v, %v", got, err)
	}
	if _, err := forHost(intel, true, dir, "amd64", "15.5"); err == nil || !strings.Contains(err.Error(), "rosetta") {
		t.Errorf("Rosetta on an Intel Mac: %v", err)
	}
	if _, err := forHost(intel, false, dir, "arm64", "14.5"); err == nil || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("a bzImage on Apple silicon: %v", err)
	}
}

func detectKernelFile(t *testing.T, p string) kernelFormat {
	t.Helper()
	f, err := readKernelFormat(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCapabilities(t *testing.T) {
	for _, goos := range []string{"darwin", "linux", "windows"} {
		c := capabilities(goos)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", goos, err)
		}
		if c.Boot != vm.BootKernel || c.DataDisk != (vm.DataDisk{Format: vm.DiskRaw, CreatedBy: vm.PartyAgent}) || !c.SurvivesAgent {
			t.Errorf("%s: %+v", goos, c)
		}
		if !slices.Equal(c.Links, []vm.LinkSpec{{Link: vm.LinkVfkit, Listener: vm.PartyHypervisor}}) {
			t.Errorf("%s: links %v", goos, c.Links)
		}
		if got := len(c.ShareTypes) > 0; got != (goos == "darwin") {
			t.Errorf("%s: share types %v", goos, c.ShareTypes)
		}
		for _, f := range []string{pidFile, recordFile, controlSock} {
			if !slices.Contains(c.RuntimeFiles, f) {
				t.Errorf("%s: runtime files %v lack %s", goos, c.RuntimeFiles, f)
			}
		}
	}
	name, _, err := vm.CapabilitiesOf(DriverName, "darwin")
	if err != nil || name != DriverName {
		t.Errorf("the registered driver: %q, %v", name, err)
	}
}

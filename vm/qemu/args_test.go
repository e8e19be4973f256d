package qemu

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/vm"
)

func testMachine() *vm.Machine {
	return &vm.Machine{
		Name: "default", Arch: "amd64", CPUs: 2, MemoryMiB: 2048,
		Kernel: "/img/vmlinuz", Initrd: "/m/initrd.img", Cmdline: "quiet panic=-1",
		Disks: []vm.Disk{
			{Path: "/img/rootfs.img", ReadOnly: true},
			{Path: "/m/data,1.img"},
		},
		Network:    vm.Network{Socket: "/m/net.sock", MAC: "5a:94:ef:e4:0c:ee"},
		ConsoleLog: "/m/serial.log",
		StateDir:   "/m",
	}
}

func argAfter(args []string, flag string) []string {
	var vals []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			vals = append(vals, args[i+1])
		}
	}
	return vals
}

func TestNetArgsVhostUser(t *testing.T) {
	m := testMachine()
	m.Network.Link = vm.LinkVhostUser
	m.Network.Socket = "/m,1/net.sock"
	for accel, card := range map[string]string{
		"kvm": "virtio-net-pci,netdev=net0,mac=5a:94:ef:e4:0c:ee,romfile=",
		"tcg": "virtio-net-pci,netdev=net0,mac=5a:94:ef:e4:0c:ee,romfile=,vectors=0",
	} {
		got := strings.Join(netArgs(m.Network, accel), " ")
		want := "-chardev socket,id=net0,server=on,wait=off,path=/m,,1/net.sock -netdev vhost-user,id=net0,chardev=net0 -device " + card
		if got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", accel, got, want)
		}
	}
}

func TestCheckLink(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		if err := checkLink(goos, vm.LinkStream); err != nil {
			t.Errorf("%s, stream: %v", goos, err)
		}
		err := checkLink(goos, vm.LinkVhostUser)
		if (err == nil) != (goos == "linux") {
			t.Errorf("%s, vhost-user: %v", goos, err)
		}
		if err != nil && !strings.Contains(err.Error(), "network.link") {
			t.Errorf("%s: the error does not name the field: %v", goos, err)
		}
	}
}

func TestBuildArgsTCG(t *testing.T) {
	args := buildArgs(testMachine(), "tcg", files{QMP: "/m/qmp.sock", PID: "/m/qemu.pid"})
	check := func(flag, want string) {
		t.Helper()
		if got := argAfter(args, flag); !slices.Contains(got, want) {
			t.Errorf("%s: got %q, want %q", flag, got, want)
		}
	}
	check("-M", "q35")
	check("-accel", "tcg,thread=single")
	check("-cpu", "max,erms=off")
	check("-smp", "2")
	check("-m", "2048M")
	check("-append", "quiet panic=-1 console=ttyS0")
	check("-initrd", "/m/initrd.img")
	check("-drive", "if=none,id=disk0,file=/img/rootfs.img,format=raw,readonly=on")
	// A comma in a path must not split QEMU's option list.
	check("-drive", "if=none,id=disk1,file=/m/data,,1.img,format=raw,discard=unmap,detect-zeroes=unmap")
	check("-netdev", "stream,id=net0,server=on,addr.type=unix,addr.path=/m/net.sock")
	check("-device", "virtio-net-pci,netdev=net0,mac=5a:94:ef:e4:0c:ee,romfile=")
	check("-qmp", "unix:/m/qmp.sock,server=on,wait=off")
	check("-pidfile", "/m/qemu.pid")
	if !slices.Contains(args, "-no-reboot") || !slices.Contains(args, "-nodefaults") {
		t.Errorf("missing -no-reboot or -nodefaults: %v", args)
	}
	// The disks keep their order: the rootfs is vda, the data disk vdb.
	drives := argAfter(args, "-drive")
	if !strings.Contains(drives[0], "rootfs") || !strings.Contains(drives[1], "data") {
		t.Errorf("disk order: %v", drives)
	}
}

func TestBuildArgsAcceleratedAndArm(t *testing.T) {
	m := testMachine()
	args := buildArgs(m, "kvm", files{})
	if got := argAfter(args, "-cpu"); got[0] != "host" {
		t.Errorf("kvm cpu = %v", got)
	}
	m.Arch = "arm64"
	args = buildArgs(m, "hvf", files{})
	if got := argAfter(args, "-M"); got[0] != "virt,gic-version=max" {
		t.Errorf("arm64 machine = %v", got)
	}
	if got := argAfter(args, "-cpu"); got[0] != "host" {
		t.Errorf("arm64 cpu with hvf = %v", got)
	}
	if got := argAfter(args, "-append"); !strings.HasSuffix(got[0], "console=hvc0") {
		t.Errorf("arm64 console = %v", got)
	}
	if binaryName("arm64") != "qemu-system-aarch64" || binaryName("amd64") != "qemu-system-x86_64" {
		t.Error("binary names")
	}
}

func TestAccelFor(t *testing.T) {
	cases := []struct {
		goos, host, guest string
		kvm               bool
		want              []string
	}{
		{"linux", "amd64", "amd64", true, []string{"kvm", "tcg"}},
		{"linux", "amd64", "amd64", false, []string{"tcg"}},
		{"linux", "amd64", "arm64", true, []string{"tcg"}},
		{"darwin", "arm64", "arm64", false, []string{"hvf", "tcg"}},
		{"windows", "amd64", "amd64", false, []string{"whpx", "tcg"}},
		{"freebsd", "amd64", "amd64", false, []string{"tcg"}},
	}
	for _, c := range cases {
		if got := accelFor(c.goos, c.host, c.guest, c.kvm); !slices.Equal(got, c.want) {
			t.Errorf("accelFor(%s,%s,%s,%v) = %v, want %v", c.goos, c.host, c.guest, c.kvm, got, c.want)
		}
	}
}

func TestMissingBinaryHint(t *testing.T) {
	if h := missingBinaryHint("linux", "amd64"); !strings.Contains(h, "qemu-system-x86") {
		t.Errorf("linux hint: %s", h)
	}
	if h := missingBinaryHint("linux", "arm64"); !strings.Contains(h, "qemu-system-arm") {
		t.Errorf("linux arm hint: %s", h)
	}
	if h := missingBinaryHint("darwin", "arm64"); !strings.Contains(h, "brew") {
		t.Errorf("darwin hint: %s", h)
	}
}

func TestVerdictRoundTrip(t *testing.T) {
	p := t.TempDir() + "/accel.json"
	if _, ok := readVerdict(p, "k"); ok {
		t.Fatal("verdict from nothing")
	}
	if err := writeVerdict(p, verdict{Key: "k", Accelerator: "tcg", Note: "kvm failed"}); err != nil {
		t.Fatal(err)
	}
	if v, ok := readVerdict(p, "k"); !ok || v.Accelerator != "tcg" {
		t.Fatalf("read back %+v %v", v, ok)
	}
	if _, ok := readVerdict(p, "other"); ok {
		t.Fatal("verdict for another key must not apply")
	}
}

func TestStartWithoutQEMU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m := testMachine()
	m.StateDir = t.TempDir()
	d, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "qemu-system-x86_64 not found") || !strings.Contains(err.Error(), missingBinaryHint(runtime.GOOS, "amd64")) {
		t.Fatalf("Start without QEMU: %v", err)
	}
}

// The guest gives freed memory back through the balloon's free page
// reporting, on every accelerator and architecture.
func TestBuildArgsBalloon(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		m := testMachine()
		m.Arch = arch
		for _, accel := range []string{"tcg", "kvm"} {
			devs := argAfter(buildArgs(m, accel, files{QMP: "/m/qmp.sock", PID: "/m/qemu.pid"}), "-device")
			if !slices.Contains(devs, "virtio-balloon-pci,free-page-reporting=on") {
				t.Errorf("%s/%s: no balloon with free page reporting in %v", arch, accel, devs)
			}
		}
	}
}

// An arm64 guest under emulation, on any host: the virt machine with the
// emulated GICv3, the cheap pointer authentication, virtio-pci devices, and
// the console on a virtio console (hvc0), as under Virtualization.framework.
func TestBuildArgsArm64TCG(t *testing.T) {
	m := testMachine()
	m.Arch = "arm64"
	args := buildArgs(m, "tcg", files{QMP: "/m/qmp.sock", PID: "/m/qemu.pid"})
	check := func(flag, want string) {
		t.Helper()
		if got := argAfter(args, flag); !slices.Contains(got, want) {
			t.Errorf("%s: got %q, want %q", flag, got, want)
		}
	}
	check("-M", "virt,gic-version=3")
	check("-cpu", "max,pauth-impdef=on")
	check("-accel", "tcg,thread=single")
	check("-append", "quiet panic=-1 console=hvc0")
	check("-chardev", "file,id=console0,path=/m/serial.log")
	check("-device", "virtio-serial-pci,id=console")
	check("-device", "virtconsole,chardev=console0,bus=console.0")
	check("-device", "virtio-blk-pci,drive=disk0")
	check("-device", "virtio-net-pci,netdev=net0,mac=5a:94:ef:e4:0c:ee,romfile=")
	check("-device", "virtio-rng-pci")
	if slices.Contains(args, "-serial") {
		t.Errorf("arm64: the console is hvc0, yet a serial port is connected: %v", args)
	}
	for _, d := range argAfter(args, "-device") {
		if !strings.Contains(d, "-pci") && !strings.HasPrefix(d, "virtconsole,") {
			t.Errorf("arm64: device %q is not on PCI", d)
		}
	}
	// amd64 keeps its serial console.
	amd := buildArgs(testMachine(), "tcg", files{})
	if got := argAfter(amd, "-serial"); len(got) != 1 || got[0] != "chardev:console0" {
		t.Errorf("amd64 serial = %v", got)
	}
	if slices.Contains(argAfter(amd, "-device"), "virtio-serial-pci,id=console") {
		t.Error("amd64 got the virtio console")
	}
}

// QEMU's power button reaches an amd64 guest (ACPI) and not an arm64 one
// (a GPIO key its kernel has no driver for): Stop says so at once instead
// of waiting for a power-off that cannot come.
func TestPowerButton(t *testing.T) {
	if err := powerButton("amd64"); err != nil {
		t.Errorf("amd64: %v", err)
	}
	err := powerButton("arm64")
	if !errors.Is(err, vm.ErrUnsupported) || !strings.Contains(err.Error(), "guest agent") {
		t.Errorf("arm64: %v, want vm.ErrUnsupported naming the guest agent", err)
	}
}

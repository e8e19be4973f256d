package vm

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultDriver(t *testing.T) {
	cases := []struct {
		goos      string
		available []string
		want      string
	}{
		{"linux", []string{"qemu"}, "qemu"},
		{"darwin", []string{"qemu", "vz"}, "vz"},
		{"darwin", []string{"qemu"}, "qemu"},
		{"windows", []string{"hyperv", "qemu", "wsl2"}, "wsl2"},
		{"windows", []string{"qemu", "wsl2"}, "wsl2"},
		{"windows", []string{"hyperv", "qemu"}, "hyperv"},
		{"windows", []string{"qemu"}, "qemu"},
		{"freebsd", []string{"qemu"}, "qemu"},
		{"linux", nil, ""},
	}
	for _, c := range cases {
		if got := defaultDriver(c.goos, c.available); got != c.want {
			t.Errorf("defaultDriver(%s, %v) = %q, want %q", c.goos, c.available, got, c.want)
		}
	}
}

// A registered driver this host or build cannot run (vz without macOS 13
// or cgo) is passed over: darwin falls back to QEMU.
func TestDefaultDriverSkipsUnavailable(t *testing.T) {
	noVZ := func() error { return errors.New("needs macOS 13 and cgo") }
	fs := []Factory{{Name: "vz", Available: noVZ}, {Name: "qemu"}}
	if got := defaultDriver("darwin", usable(fs)); got != "qemu" {
		t.Errorf("darwin without vz: %q, want qemu", got)
	}
	fs[0].Available = func() error { return nil }
	if got := defaultDriver("darwin", usable(fs)); got != "vz" {
		t.Errorf("darwin with vz: %q, want vz", got)
	}
	if got := usable([]Factory{{Name: "b"}, {Name: "a"}, {Name: "c", Available: noVZ}}); strings.Join(got, ",") != "a,b" {
		t.Errorf("usable = %v, want [a b]", got)
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	m := &Machine{Arch: "mips", CPUs: 0, MemoryMiB: 10, Disks: []Disk{{}}, Network: Network{MAC: "zz"}}
	err := m.Validate()
	if err == nil {
		t.Fatal("invalid machine accepted")
	}
	for _, field := range []string{"name", "arch", "cpus", "memory", "kernel", "disks[0].path", "network.socket", "network.mac", "stateDir"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}

func TestNewUnknownDriver(t *testing.T) {
	m := &Machine{Name: "x", Arch: "amd64", CPUs: 1, MemoryMiB: 512, Kernel: "k",
		Network: Network{Socket: "s", MAC: "5a:94:ef:e4:0c:ee"}, StateDir: "d"}
	if _, err := New("nope", m); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("New(nope) = %v", err)
	}
}

func TestProgramCommand(t *testing.T) {
	p := Program{Path: "/i/virtiofsd", Loader: "/i/ld.so", LibraryPath: "/i/lib"}
	if got := strings.Join(p.Command("-V"), " "); got != "/i/ld.so --library-path /i/lib /i/virtiofsd -V" {
		t.Errorf("with a loader: %s", got)
	}
	if got := strings.Join(Program{Path: "/usr/bin/x"}.Command("-V"), " "); got != "/usr/bin/x -V" {
		t.Errorf("without: %s", got)
	}
	m := &Machine{Name: "x", Arch: "amd64", CPUs: 1, MemoryMiB: 512, Kernel: "k",
		Network: Network{Socket: "s", MAC: "5a:94:ef:e4:0c:ee"}, StateDir: "d",
		Virtiofsd: &Program{Path: "rel/virtiofsd", Loader: "/ld.so"}}
	err := m.Validate()
	if err == nil || !strings.Contains(err.Error(), "virtiofsd.path") || !strings.Contains(err.Error(), "virtiofsd.libraryPath") {
		t.Errorf("relative virtiofsd paths: %v", err)
	}
}

package qemu

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/vm"
)

func TestShareArgs(t *testing.T) {
	m := &vm.Machine{MemoryMiB: 1024, StateDir: "/s,d", Shares: []vm.Share{{Tag: "berth0", HostPath: "/home/me"}, {Tag: "berth1", HostPath: "/ro", ReadOnly: true}}}
	got := strings.Join(shareArgs(m, shareVirtiofs), " ")
	want := "-object memory-backend-memfd,id=mem,size=1024M,share=on -numa node,memdev=mem " +
		"-chardev socket,id=vfs0,path=" + escapeOpt(filepath.Join("/s,d", "vfs0.sock")) + " -device vhost-user-fs-pci,chardev=vfs0,tag=berth0 " +
		"-chardev socket,id=vfs1,path=" + escapeOpt(filepath.Join("/s,d", "vfs1.sock")) + " -device vhost-user-fs-pci,chardev=vfs1,tag=berth1"
	if got != want {
		t.Errorf("virtiofs:\n%s\nwant\n%s", got, want)
	}
	got = strings.Join(shareArgs(m, share9p), " ")
	want = "-virtfs local,id=fs0,path=/home/me,mount_tag=berth0,security_model=none -virtfs local,id=fs1,path=/ro,mount_tag=berth1,security_model=none,readonly=on"
	if got != want {
		t.Errorf("9p:\n%s\nwant\n%s", got, want)
	}
	if shareArgs(&vm.Machine{}, shareVirtiofs) != nil {
		t.Error("no shares, no arguments")
	}
}

func TestShareMode(t *testing.T) {
	if m, n := shareMode("linux", "/usr/lib/qemu/virtiofsd", false); m != shareVirtiofs || n != "" {
		t.Errorf("with virtiofsd: %s %q", m, n)
	}
	if m, n := shareMode("darwin", "", false); m != share9p || !strings.Contains(n, "does not support") {
		t.Errorf("without virtiofsd: %s %q", m, n)
	}
	if m, n := shareMode("linux", "/usr/lib/qemu/virtiofsd", true); m != "" || !strings.Contains(n, "root only") {
		t.Errorf("not root: %s %q", m, n)
	}
}

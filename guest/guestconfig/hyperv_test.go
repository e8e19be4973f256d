package guestconfig

import (
	"slices"
	"strings"
	"testing"
)

func TestHyperV(t *testing.T) {
	def := Default()
	c := HyperV(def)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Root() != "/dev/sda" || c.DataDisk.Device != "/dev/sdb" || c.Link != "vsock:6215" {
		t.Errorf("root %s, data %s, link %q", c.Root(), c.DataDisk.Device, c.Link)
	}
	for _, m := range []string{"hv_sock", "hv_utils", "hv_balloon", "overlay", "br_netfilter", "binfmt_misc"} {
		if !slices.Contains(c.Modules, m) {
			t.Errorf("modules lack %s: %v", m, c.Modules)
		}
	}
	for _, m := range c.Modules {
		if strings.HasPrefix(m, "virtio_") {
			t.Errorf("a virtio module in a Hyper-V guest: %s", m)
		}
	}
	if HyperV(c).Modules[0] != "hv_sock" || len(HyperV(c).Modules) != len(c.Modules) {
		t.Error("HyperV twice is not HyperV once")
	}
	// The default stays a virtio VM's.
	if def.Root() != RootDeviceVirtio || def.Link != "" || !slices.Contains(def.Modules, "virtio_net") {
		t.Errorf("Default changed: %+v", def)
	}
}

func TestValidateRootDeviceAndLink(t *testing.T) {
	for _, c := range []struct {
		root, link, want string
	}{
		{"/dev/../etc/passwd", "", "rootDevice:"},
		{"sda", "", "rootDevice:"},
		{"", "vsock:0", "link:"},
		{"", "vsock:x", "link:"},
		{"", "unix:/run/link.sock", "link:"},
		{"", "vsock:4294967295", "link:"},
	} {
		cfg := Default()
		cfg.RootDevice, cfg.Link = c.root, c.link
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("root %q link %q: %v", c.root, c.link, err)
		}
	}
}

func TestValidateFileSharing(t *testing.T) {
	cfg := Default()
	cfg.Shares = []Share{{Tag: "berth0", Path: "/home/me"}}
	for _, ok := range []string{"", FileSharingSFTP} {
		cfg.FileSharing = ok
		if err := cfg.Validate(); err != nil {
			t.Errorf("fileSharing %q: %v", ok, err)
		}
	}
	cfg.FileSharing = "9p"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `fileSharing: "9p"`) {
		t.Errorf("fileSharing 9p: %v", err)
	}
}

package vz

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/vm"
)

func validSpec() Spec {
	return Spec{
		Kernel: "/m/vz-kernel", Initrd: "/m/initrd", Cmdline: "console=hvc0",
		CPUs: 4, MemoryMiB: 4096,
		Disks:      []vm.Disk{{Path: "/m/root.img", ReadOnly: true}, {Path: "/m/data.img"}},
		Shares:     []vm.Share{{Tag: "home", HostPath: "/Users/a"}, {Tag: "tmp", HostPath: "/tmp", ReadOnly: true}},
		MAC:        "52:55:55:12:34:56",
		MTU:        1500,
		ConsoleLog: "/m/console.log",
	}
}

func TestCheckSpecValid(t *testing.T) {
	s := validSpec()
	if err := checkSpec(s); err != nil {
		t.Fatal(err)
	}
	s.MTU, s.Initrd, s.Rosetta = 0, "", true // default MTU, no initrd
	if err := checkSpec(s); err != nil {
		t.Fatal(err)
	}
	s.MTU = 65535
	if err := checkSpec(s); err != nil {
		t.Fatal(err)
	}
}

func TestCheckSpecNamesTheField(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Spec)
		want []string
	}{
		{"relative kernel", func(s *Spec) { s.Kernel = "vmlinuz" }, []string{"kernel:", `"vmlinuz"`}},
		{"no kernel", func(s *Spec) { s.Kernel = "" }, []string{"kernel:"}},
		{"relative initrd", func(s *Spec) { s.Initrd = "initrd" }, []string{"initrd:"}},
		{"relative disk", func(s *Spec) { s.Disks[1].Path = "data.img" }, []string{"disks[1]:", "data.img"}},
		{"empty tag", func(s *Spec) { s.Shares[0].Tag = "" }, []string{"shares[0].tag:", "1 to 36 bytes"}},
		{"long tag", func(s *Spec) { s.Shares[1].Tag = strings.Repeat("t", 37) }, []string{"shares[1].tag:"}},
		{"same tag twice", func(s *Spec) { s.Shares[1].Tag = "home" }, []string{"shares[1].tag:", `"home" is used twice`}},
		{"Rosetta's tag", func(s *Spec) { s.Rosetta = true; s.Shares[0].Tag = RosettaTag }, []string{"shares[0].tag:", `"rosetta"`}},
		{"relative share", func(s *Spec) { s.Shares[1].HostPath = "tmp" }, []string{"shares[1].hostPath:"}},
		{"bad MAC", func(s *Spec) { s.MAC = "52:55:55:12:34" }, []string{"mac:", "52:55:55:12:34"}},
		{"EUI-64 MAC", func(s *Spec) { s.MAC = "02:00:5e:10:00:00:00:01" }, []string{"mac:"}},
		{"small MTU", func(s *Spec) { s.MTU = 1400 }, []string{"mtu: 1400", "1500 to 65535"}},
		{"big MTU", func(s *Spec) { s.MTU = 65536 }, []string{"mtu: 65536"}},
		{"relative console", func(s *Spec) { s.ConsoleLog = "console.log" }, []string{"consoleLog:"}},
		{"two at once", func(s *Spec) { s.MTU = 9; s.MAC = "" }, []string{"mtu: 9", "mac:"}},
	} {
		s := validSpec()
		c.edit(&s)
		err := checkSpec(s)
		if err == nil {
			t.Errorf("%s: checkSpec = nil", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
	// The Rosetta tag is free for a share when Rosetta is off.
	s := validSpec()
	s.Shares[0].Tag = RosettaTag
	if err := checkSpec(s); err != nil {
		t.Errorf("tag %q without Rosetta: %v", RosettaTag, err)
	}
}

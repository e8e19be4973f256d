package hcsvm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testSID = "S-1-5-21-3623811015-3361044348-30300820-1013"

func goodSpec() Spec {
	return Spec{
		Kernel:    `C:\Program Files\Berth\share\berth\image\amd64\vmlinuz`,
		Initrd:    `C:\ProgramData\Berth\hyperv\machines\` + testSID + `\default\initrd.img`,
		Cmdline:   Cmdline(),
		RootDisk:  `C:\ProgramData\Berth\hyperv\image\rootfs.vhd`,
		DataDisk:  `C:\ProgramData\Berth\hyperv\machines\` + testSID + `\default\data.vhdx`,
		CPUs:      2,
		MemoryMiB: 2048,
		UserSID:   testSID,
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the document built:\n%s", path, got)
	}
}

func TestDocumentGolden(t *testing.T) {
	doc, err := Document(goodSpec())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "document.json", doc)
}

// TestDocumentSchema reads the document back by the names HCS's schema 2
// gives the fields (hcsshim internal/hcs/schema2), so a renamed tag in
// this package shows as a missing value, not as a silently ignored key.
func TestDocumentSchema(t *testing.T) {
	doc, err := Document(goodSpec())
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		SchemaVersion  struct{ Major, Minor int }
		VirtualMachine struct {
			StopOnReset bool
			Chipset     struct {
				LinuxKernelDirect struct{ KernelFilePath, InitRdPath, KernelCmdLine string }
			}
			ComputeTopology struct {
				Memory struct {
					SizeInMB        int
					AllowOvercommit bool
				}
				Processor struct{ Count int }
			}
			Devices struct {
				Scsi map[string]struct {
					Attachments map[string]struct {
						Type, Path string
						ReadOnly   bool
					}
				}
				HvSocket struct {
					HvSocketConfig struct {
						DefaultBindSecurityDescriptor    string
						DefaultConnectSecurityDescriptor string
						ServiceTable                     map[string]struct{ BindSecurityDescriptor, ConnectSecurityDescriptor string }
					}
				}
			}
		}
		ShouldTerminateOnLastHandleClosed bool
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	s := goodSpec()
	vm := d.VirtualMachine
	if d.SchemaVersion.Major != 2 || d.SchemaVersion.Minor != 1 || !vm.StopOnReset || d.ShouldTerminateOnLastHandleClosed {
		t.Errorf("version %+v, StopOnReset %v, terminate on last handle %v", d.SchemaVersion, vm.StopOnReset, d.ShouldTerminateOnLastHandleClosed)
	}
	k := vm.Chipset.LinuxKernelDirect
	if k.KernelFilePath != s.Kernel || k.InitRdPath != s.Initrd || k.KernelCmdLine != s.Cmdline {
		t.Errorf("LinuxKernelDirect = %+v", k)
	}
	if vm.ComputeTopology.Memory.SizeInMB != 2048 || vm.ComputeTopology.Processor.Count != 2 {
		t.Errorf("topology = %+v", vm.ComputeTopology)
	}
	att := vm.Devices.Scsi[scsiController].Attachments
	if att["0"].Path != s.RootDisk || !att["0"].ReadOnly || att["0"].Type != "VirtualDisk" ||
		att["1"].Path != s.DataDisk || att["1"].ReadOnly || att["1"].Type != "VirtualDisk" || len(att) != 2 {
		t.Errorf("SCSI attachments = %+v", att)
	}
	hv := vm.Devices.HvSocket.HvSocketConfig
	if hv.DefaultBindSecurityDescriptor != "D:P(A;;FA;;;SY)" || hv.DefaultConnectSecurityDescriptor != "D:P(A;;FA;;;SY)" {
		t.Errorf("default descriptors = %q, %q: want SYSTEM only", hv.DefaultBindSecurityDescriptor, hv.DefaultConnectSecurityDescriptor)
	}
	link, ok := hv.ServiceTable["00001847-facb-11e6-bd58-64006a7986d3"] // vsock port 6215
	if !ok || len(hv.ServiceTable) != 1 {
		t.Fatalf("service table = %+v: want the link port's entry alone", hv.ServiceTable)
	}
	if link.ConnectSecurityDescriptor != "D:P(A;;FA;;;SY)(A;;FA;;;"+testSID+")" || link.BindSecurityDescriptor != "D:P(A;;FA;;;SY)" {
		t.Errorf("link's descriptors = %+v: want SYSTEM and the user to connect, SYSTEM alone to bind", link)
	}
}

func TestDocumentRefusesBadSpecs(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(*Spec)
		wants []string
	}{
		{"empty", func(s *Spec) { *s = Spec{} }, []string{"kernel: must be set", "initrd: must be set", "rootDisk: must be set", "dataDisk: must be set", "cpus: 0", "memoryMiB: 0", "userSID"}},
		{"relative kernel", func(s *Spec) { s.Kernel = `image\vmlinuz` }, []string{"kernel:", "not an absolute Windows path"}},
		{"unix path", func(s *Spec) { s.Initrd = "/tmp/initrd.img" }, []string{"initrd:", "not an absolute Windows path"}},
		{"pipe path", func(s *Spec) { s.DataDisk = `\\.\pipe\x.vhdx` }, []string{"dataDisk:", "not an absolute Windows path"}},
		{"quote in path", func(s *Spec) { s.Kernel = `C:\a"b\vmlinuz` }, []string{"kernel:", "cannot hold"}},
		{"raw root disk", func(s *Spec) { s.RootDisk = `C:\x\rootfs.img` }, []string{"rootDisk:", "no .vhd or .vhdx"}},
		{"too many cpus", func(s *Spec) { s.CPUs = 65 }, []string{"cpus: 65, want 1 to 64"}},
		{"too little memory", func(s *Spec) { s.MemoryMiB = 128 }, []string{"memoryMiB: 128"}},
		{"line break in cmdline", func(s *Spec) { s.Cmdline = "quiet\ninit=/bin/sh" }, []string{"cmdline:"}},
		{"SDDL in the SID", func(s *Spec) { s.UserSID = "WD)(A;;FA;;;BA" }, []string{"userSID:", "not a SID"}},
		{"well-known alias", func(s *Spec) { s.UserSID = "WD" }, []string{"userSID:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := goodSpec()
			c.edit(&s)
			doc, err := Document(s)
			if err == nil {
				t.Fatalf("accepted: %s", doc)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDocumentAcceptsUNCPaths(t *testing.T) {
	s := goodSpec()
	s.DataDisk = `\\server\share\berth\data.vhdx`
	if _, err := Document(s); err != nil {
		t.Fatal(err)
	}
}

func TestCmdlineIsForHyperV(t *testing.T) {
	c := Cmdline()
	for _, w := range []string{"8250_core.nr_uarts=0", "pci=off", "initcall_blacklist=virtio_vsock_init", "panic=-1"} {
		if !strings.Contains(c, w) {
			t.Errorf("cmdline %q lacks %q", c, w)
		}
	}
}

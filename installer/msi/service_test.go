package msi

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestServiceWXS(t *testing.T) {
	src, err := ServiceWXS(ServiceOptions{Version: "1.2.3", Service: "w/berth-service.exe", License: "LICENSE"})
	if err != nil {
		t.Fatal(err)
	}
	var root node
	if err := xml.Unmarshal(src, &root); err != nil {
		t.Fatalf("not XML: %v\n%s", err, src)
	}
	var pkg, install, control node
	files := map[string]string{}
	regs := map[string]string{}
	walk(root, nil, func(n node, dirs []string) {
		switch n.XMLName.Local {
		case "Package":
			pkg = n
		case "ServiceInstall":
			install = n
		case "ServiceControl":
			control = n
		case "File":
			files[strings.TrimPrefix(strings.Join(append(dirs, n.attr("Name")), `\`), `SourceDir\`)] = n.attr("Source")
		case "RegistryValue":
			regs[n.attr("Root")+`\`+n.attr("Key")+`\`+n.attr("Name")] = n.attr("Value")
		}
	})
	if pkg.attr("InstallScope") != "perMachine" {
		t.Errorf("Package %v: want per machine", pkg.Attrs)
	}
	if files[`Berth\service\berth-service.exe`] != "w/berth-service.exe" || files[`Berth\service\LICENSE.txt`] != "LICENSE" {
		t.Errorf("files %v", files)
	}
	if install.attr("Name") != "berth-service" || install.attr("Account") != "LocalSystem" || install.attr("Start") != "auto" ||
		install.attr("Arguments") != `-principal "[LogonUser]"` {
		t.Errorf("ServiceInstall %v", install.Attrs)
	}
	if control.attr("Start") != "install" || control.attr("Stop") != "both" || control.attr("Remove") != "uninstall" {
		t.Errorf("ServiceControl %v", control.Attrs)
	}
	if regs[`HKLM\`+EventLogKey+`\EventMessageFile`] != "[System64Folder]EventCreate.exe" || regs[`HKLM\`+EventLogKey+`\TypesSupported`] != "7" {
		t.Errorf("event source %v", regs)
	}
	if _, err := ServiceWXS(ServiceOptions{Version: "1.2", Service: "x"}); err == nil {
		t.Error("a bad version passed")
	}
	if _, err := ServiceWXS(ServiceOptions{Version: "1.2.3"}); err == nil || !strings.Contains(err.Error(), "berth-service.exe") {
		t.Errorf("no service: %v", err)
	}
}

// wixl compiles the source, and the tables say what Windows Installer
// will do: the service installed, started, stopped and removed, and the
// event log source. (wixl and msitools come with make test-dist's list.)
func TestBuildServiceTables(t *testing.T) {
	for _, tool := range []string{"wixl", "msiinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (hack/deps-dist.txt; make test-dist runs this)", tool)
		}
	}
	work := t.TempDir()
	exe := filepath.Join(work, "berth-service.exe")
	if err := os.WriteFile(exe, []byte("MZ stand-in"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, ServiceFileName("1.2.3"))
	if err := BuildService(context.Background(), ServiceOptions{Version: "1.2.3", Service: exe}, work, out); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]string{
		"ServiceInstall":         "berth_service\tberth-service\tBerth service\t16\t2\t1\t\t\tLocalSystem\t\t-principal \"[LogonUser]\"\tc_service",
		"ServiceControl":         "berth_service\tberth-service\t163\t\t1\tc_service",
		"Registry":               EventLogKey + "\tTypesSupported\t#7\tc_service",
		"InstallExecuteSequence": "StartServices\tVersionNT\t5900",
		"Property":               "UpgradeCode\t{" + ServiceUpgradeCode + "}",
	} {
		b, err := exec.Command("msiinfo", "export", out, table).CombinedOutput()
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("table %s lacks %q (%v):\n%s", table, want, err, b)
		}
	}
}

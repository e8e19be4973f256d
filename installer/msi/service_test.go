package msi

import (
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"
)

func TestServiceWXS(t *testing.T) {
	src, err := ServiceWXS(ServiceOptions{Version: "1.2.3", Service: "w/berth-service.exe", License: "LICENSE", ImageDir: "image"})
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
	for _, f := range []string{"vmlinuz", "initramfs.img", "rootfs.img"} {
		if got := files[`Berth\service\image\amd64\`+f]; got != filepath.Join("image", f) {
			t.Errorf("the Hyper-V machine's %s: %q in %v", f, got, files)
		}
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
	if _, err := ServiceWXS(ServiceOptions{Version: "1.2.3", Service: "x"}); err == nil || !strings.Contains(err.Error(), "image") {
		t.Errorf("no image: %v", err)
	}
	if _, err := ServiceWXS(ServiceOptions{Version: "1.2", Service: "x", ImageDir: "i"}); err == nil {
		t.Error("a bad version passed")
	}
	if _, err := ServiceWXS(ServiceOptions{Version: "1.2.3"}); err == nil || !strings.Contains(err.Error(), "berth-service.exe") {
		t.Errorf("no service: %v", err)
	}
}

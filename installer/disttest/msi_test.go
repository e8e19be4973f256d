package disttest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/installer/msi"
)

// TestMSITables reads the MSI's tables back with msiinfo.
func TestMSITables(t *testing.T) {
	dir, version := dist(t)
	pkg := filepath.Join(dir, msi.FileName(version))
	table := func(name string) string { return run(t, time.Minute, nil, "msiinfo", "export", pkg, name) }
	for name, wants := range map[string][]string{
		"File":                   {"\tberth.exe\t", "\tberth-tray.exe\t", "\trootfs.img\t", "\twsl-rootfs.tar.gz\t", "\tmanifest.json\t"},
		"Component":              {"c_berth.exe\t", "c_berth_tray.exe\t", "c_integration\t"},
		"Registry":               {msi.RunKey + "\tBerth\t\"[BINDIR]berth-tray.exe\"\tc_integration"},
		"Shortcut":               {"StartMenuShortcut\tProgramMenuFolder\tBerth\tc_integration\t[BINDIR]berth-tray.exe"},
		"Upgrade":                {"{" + msi.UpgradeCode + "}"},
		"Property":               {"ProductVersion\t" + version, "UpgradeCode\t{" + msi.UpgradeCode + "}", "ALLUSERS\t2", "MSIINSTALLPERUSER\t1"},
		"Environment":            {"PATH\t=-PATH\t[~];[BINDIR]\tc_integration"},
		"InstallExecuteSequence": {"WriteEnvironmentStrings\t\t5200", "RemoveExistingProducts"},
	} {
		got := table(name)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("table %s lacks %q:\n%s", name, w, got)
			}
		}
	}
	if f := table("File"); strings.Contains(f, "virtiofsd") {
		t.Error("the MSI holds the Linux virtiofsd")
	}
}

// TestServiceMSITables reads the per-machine service package's tables: the
// service (LocalSystem, automatic, its principal the installing user),
// started at install, stopped and removed at uninstall, its event source.
func TestServiceMSITables(t *testing.T) {
	dir, version := dist(t)
	pkg := filepath.Join(dir, msi.ServiceFileName(version))
	for name, wants := range map[string][]string{
		"File":           {"\tberth-service.exe\t", "\tvmlinuz\t", "\tinitramfs.img\t", "\trootfs.img\t"},
		"ServiceInstall": {"berth-service\tBerth service\t16\t2\t1\t\t\tLocalSystem\t\t-principal \"[LogonUser]\"\tc_service"},
		"ServiceControl": {"berth-service\t163\t\t1\tc_service"},
		"Registry":       {msi.EventLogKey + "\tEventMessageFile\t[System64Folder]EventCreate.exe\tc_service"},
		"Property":       {"ProductVersion\t" + version, "UpgradeCode\t{" + msi.ServiceUpgradeCode + "}"},
	} {
		got := run(t, time.Minute, nil, "msiinfo", "export", pkg, name)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("table %s lacks %q:\n%s", name, w, got)
			}
		}
	}
	if p := run(t, time.Minute, nil, "msiinfo", "export", pkg, "Property"); strings.Contains(p, "MSIINSTALLPERUSER") {
		t.Errorf("the service package installs per user:\n%s", p)
	}
}

// TestMSISign signs a copy of the MSI with a certificate made here and
// verifies it; the MSI `make dist` built without BERTH_SIGN_* is unsigned.
func TestMSISign(t *testing.T) {
	dir, version := dist(t)
	pkg := filepath.Join(dir, msi.FileName(version))
	if out, err := try(time.Minute, nil, "osslsigncode", "verify", "-in", pkg); err == nil {
		t.Errorf("the unsigned build verifies:\n%s", out)
	}
	work := t.TempDir()
	cert, key := filepath.Join(work, "cert.pem"), filepath.Join(work, "key.pem")
	run(t, time.Minute, nil, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
		"-subj", "/CN=Berth test signing", "-addext", "extendedKeyUsage=codeSigning", "-keyout", key, "-out", cert)
	signed := filepath.Join(work, "signed.msi")
	run(t, time.Minute, nil, "cp", pkg, signed)
	if err := (msi.Signer{Cert: cert, Key: key}).Sign(context.Background(), signed); err != nil {
		t.Fatal(err)
	}
	out := run(t, time.Minute, nil, "osslsigncode", "verify", "-CAfile", cert, "-in", signed)
	if !strings.Contains(out, "Signature verification: ok") {
		t.Errorf("osslsigncode verify:\n%s", out)
	}
}

// TestMSIWine installs the MSI with Wine's msiexec in a fresh prefix: an
// upgrade between two small builds of the same WiX source first, then
// the real package; each is uninstalled and must leave nothing.
func TestMSIWine(t *testing.T) {
	dir, version := dist(t)
	p := newPrefix(t)

	// Upgrade in place: 0.0.1, then 0.0.2 over it.
	small := func(v string) string {
		w := t.TempDir()
		img := filepath.Join(w, "img")
		if err := os.MkdirAll(img, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"manifest.json", "vmlinuz", "initramfs.img", "rootfs.img", "wsl-rootfs.tar.gz"} {
			if err := os.WriteFile(filepath.Join(img, f), []byte(f+" "+v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		files, err := layout.ScanImage(img)
		if err != nil {
			t.Fatal(err)
		}
		o := msi.Options{Version: v, ImageDir: img, Image: files, Berth: filepath.Join(w, "berth.exe"),
			Tray: filepath.Join(w, "berth-tray.exe"), Icon: filepath.Join(w, "berth.ico")}
		for _, f := range []string{o.Berth, o.Tray, o.Icon} {
			if err := os.WriteFile(f, []byte(filepath.Base(f)+" "+v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(w, msi.FileName(v))
		if err := msi.Build(context.Background(), o, w, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	old, newer := small("0.0.1"), small("0.0.2")
	p.msiexec(t, "/i", old)
	if b := p.read(t, "bin/berth.exe"); b != "berth.exe 0.0.1" {
		t.Fatalf("0.0.1 installed berth.exe %q", b)
	}
	p.msiexec(t, "/i", newer)
	if b := p.read(t, "bin/berth.exe"); b != "berth.exe 0.0.2" {
		t.Errorf("after the upgrade berth.exe is %q", b)
	}
	if n := strings.Count(strings.ToLower(p.userPath(t)), strings.ToLower(`Programs\Berth\bin`)); n != 1 {
		t.Errorf("after the upgrade the PATH holds the entry %d times: %s", n, p.userPath(t))
	}
	p.msiexec(t, "/x", newer)
	p.assertGone(t)

	// The real package.
	pkg := filepath.Join(dir, msi.FileName(version))
	p.msiexec(t, "/i", pkg)
	for _, f := range []string{"bin/berth.exe", "bin/berth-tray.exe", "share/berth/image/amd64/rootfs.img", "share/berth/image/amd64/wsl-rootfs.tar.gz"} {
		if _, err := os.Stat(filepath.Join(p.installDir(t), f)); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	out := p.wine(t, filepath.Join(p.installDir(t), "bin", "berth.exe"), "version")
	if !strings.Contains(out, "berth "+version+" ") || !strings.Contains(out, "windows/amd64") {
		t.Errorf("berth.exe version = %q, want %s", out, version)
	}
	if run := p.reg(t, `HKCU\`+msi.RunKey, "Berth"); !strings.Contains(run, `Programs\Berth\bin\berth-tray.exe"`) {
		t.Errorf("Run value: %q", run)
	}
	if !strings.Contains(p.userPath(t), `Programs\Berth\bin`) {
		t.Errorf("PATH: %q", p.userPath(t))
	}
	if _, err := os.Stat(p.shortcut(t)); err != nil {
		t.Errorf("Start-menu shortcut: %v", err)
	}
	p.msiexec(t, "/x", pkg)
	p.assertGone(t)
}

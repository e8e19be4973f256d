package disttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/installer/deb"
)

// TestDeb installs the amd64 .deb with dpkg, checks its files, boots the
// installed berth (its image found under /usr/share/berth/image) and
// asks the engine through the docker CLI, then removes and purges the
// package: no file of it may remain, and the machine's data stays.
func TestDeb(t *testing.T) {
	dir, version := dist(t)
	pkg := filepath.Join(dir, deb.FileName(version, "amd64"))
	if out, err := try(time.Minute, nil, "dpkg-query", "-W", "-f=${Status}", "berth"); err == nil && strings.Contains(out, "installed") {
		t.Fatalf("a berth package is installed already (%s): remove it first (dpkg -P berth)", out)
	}
	run(t, 5*time.Minute, nil, "dpkg", "-i", pkg)
	t.Cleanup(func() { _, _ = try(5*time.Minute, nil, "dpkg", "-P", "berth") })

	var files []string
	for _, p := range strings.Split(strings.TrimSpace(run(t, time.Minute, nil, "dpkg", "-L", "berth")), "\n") {
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			files = append(files, p)
		}
	}
	for _, want := range []string{"/usr/bin/berth", "/usr/bin/berth-tray", deb.DesktopFile, deb.AutostartFile, deb.UnitFile, deb.IconFile,
		"/usr/share/berth/image/amd64/rootfs.img", "/usr/share/berth/image/amd64/virtiofsd/usr/libexec/virtiofsd"} {
		if _, err := os.Stat(want); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	if _, err := os.Stat("/usr/share/berth/image/amd64/wsl-rootfs.tar.gz"); err == nil {
		t.Error("the WSL root file system is in the .deb")
	}
	run(t, time.Minute, nil, "desktop-file-validate", deb.DesktopFile, deb.AutostartFile)
	// --man=no: the unit's Documentation is a URL, not a man page.
	if out := run(t, time.Minute, nil, "systemd-analyze", "verify", "--man=no", deb.UnitFile); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify %s says:\n%s", deb.UnitFile, out)
	}
	if out := run(t, time.Minute, nil, "/usr/bin/berth", "version"); !strings.HasPrefix(out, "berth "+version+" ") {
		t.Errorf("berth version = %q, want %s", out, version)
	}

	// The installed berth boots its machine, in a home of the test's own.
	home, err := os.MkdirTemp("", "berth-deb-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	env := []string{"BERTH_HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, "docker"), "BERTH_IMAGE_DIR=", "DOCKER_HOST=", "DOCKER_CONTEXT="}
	defer func() { _, _ = try(3*time.Minute, env, "/usr/bin/berth", "stop") }()
	start := time.Now()
	run(t, 15*time.Minute, env, "/usr/bin/berth", "start")
	t.Logf("berth start from the .deb: %s", time.Since(start).Round(time.Second))
	out := run(t, 2*time.Minute, env, "docker", "--context", "berth", "version", "--format", "{{.Server.Version}}")
	if strings.TrimSpace(out) == "" {
		t.Error("docker version printed no server version")
	}
	run(t, 3*time.Minute, env, "/usr/bin/berth", "stop")

	run(t, 5*time.Minute, nil, "dpkg", "-r", "berth")
	run(t, 5*time.Minute, nil, "dpkg", "-P", "berth")
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s remains after dpkg -P", f)
		}
	}
	if _, err := os.Stat("/usr/share/berth"); err == nil {
		t.Error("/usr/share/berth remains after dpkg -P")
	}
	if _, err := os.Stat(filepath.Join(home, "default")); err != nil {
		t.Errorf("the machine's data went with the package: %v", err)
	}
}

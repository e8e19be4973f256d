package dockercontext

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestEnsureAndUpdate(t *testing.T) {
	dir := t.TempDir()
	if err := Ensure(dir, "berth", "unix:///a/docker.sock", "Berth"); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(dir, "berth", "unix:///b/docker.sock", "Berth"); err != nil {
		t.Fatal(err)
	}
	h, err := Host(dir, "berth")
	if err != nil || h != "unix:///b/docker.sock" {
		t.Fatalf("Host = %q, %v", h, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "contexts", "meta", "*", "meta.json"))
	if len(matches) != 1 {
		t.Fatalf("meta files: %v", matches)
	}
	var m map[string]any
	b, _ := os.ReadFile(matches[0])
	if err := json.Unmarshal(b, &m); err != nil || m["Name"] != "berth" {
		t.Fatalf("meta.json = %s", b)
	}
}

// The real docker CLI must read what we write.
func TestDockerCLIReadsContext(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not installed: cannot check the format against it")
	}
	dir := t.TempDir()
	if err := Ensure(dir, "berth", "unix:///tmp/berth-test/docker.sock", "Berth test"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(docker, "context", "inspect", "berth", "--format", "{{.Endpoints.docker.Host}}")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker context inspect: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "unix:///tmp/berth-test/docker.sock" {
		t.Fatalf("docker sees host %q", got)
	}
}

func TestUseKeepsOtherSettings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"r.test":{"auth":"eA=="}},"currentContext":"other"}`), 0o600)
	if cur, err := Current(dir); err != nil || cur != "other" {
		t.Fatalf("Current = %q %v", cur, err)
	}
	if err := Use(dir, "berth"); err != nil {
		t.Fatal(err)
	}
	if cur, _ := Current(dir); cur != "berth" {
		t.Fatalf("after Use: %q", cur)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(b), "r.test") {
		t.Fatalf("other settings lost: %s", b)
	}
	if err := Use(dir, ""); err != nil {
		t.Fatal(err)
	}
	if cur, _ := Current(dir); cur != "" {
		t.Fatalf("after reset: %q", cur)
	}
	Ensure(dir, "berth", "unix:///x", "")
	if err := Remove(dir, "berth"); err != nil {
		t.Fatal(err)
	}
	if _, err := Host(dir, "berth"); err == nil {
		t.Fatal("context still there")
	}
}

// On Windows the context names Berth's own pipe, whose name carries the
// user's SID; the docker CLI reads the host as written (no escaping).
func TestEnsureNamedPipeHost(t *testing.T) {
	dir := t.TempDir()
	const host = "npipe:////./pipe/berth-default-S-1-5-21-1004336348-1177238915-682003330-1001"
	if err := Ensure(dir, "berth", host, "Berth"); err != nil {
		t.Fatal(err)
	}
	if h, err := Host(dir, "berth"); err != nil || h != host {
		t.Fatalf("Host = %q, %v", h, err)
	}
	b, _ := os.ReadFile(metaPath(dir, "berth"))
	if !strings.Contains(string(b), `"Host":"`+host+`"`) {
		t.Fatalf("meta.json = %s", b)
	}
}

// The context's files are the user's only, even where they existed with
// wider modes (made by an older Berth, or by hand).
func TestEnsureIsOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are ACLs on Windows")
	}
	dir := t.TempDir()
	p := metaPath(dir, "berth")
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("{}"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(p), 0o777); err != nil { // past the umask
		t.Fatal(err)
	}
	if err := Ensure(dir, "berth", "unix:///a/docker.sock", "Berth"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{filepath.Dir(p): 0o700, p: 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
}

package diagnose

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/store"
)

func TestRedact(t *testing.T) {
	in := []byte(`engine:
  proxy:
    http: http://alice:s3cret@proxy.test:3128
  daemon:
    registry-mirrors: [https://bob:pw@mirror.test]
    auth-token: abc123
cpus: 2
`)
	out := string(Redact(in))
	for _, leaked := range []string{"s3cret", "alice", "bob:pw", "abc123"} {
		if strings.Contains(out, leaked) {
			t.Errorf("%q leaked:\n%s", leaked, out)
		}
	}
	for _, kept := range []string{"proxy.test:3128", "mirror.test", "cpus: 2"} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q lost:\n%s", kept, out)
		}
	}
	if s := string(Redact([]byte("a: [\n"))); !strings.Contains(s, "does not parse") {
		t.Errorf("unparsable config: %s", s)
	}
}

func TestBundle(t *testing.T) {
	m, _ := store.Open(t.TempDir(), "default")
	m.Ensure()
	os.WriteFile(m.Path(store.AgentLogFile), []byte(`{"msg":"agent log line"}`), 0o600)
	os.WriteFile(m.Path(store.SerialLogFile), []byte("BERTH-INIT-STARTED\n"), 0o600)
	cfg := t.TempDir() + "/config.yaml"
	os.WriteFile(cfg, []byte("engine: {proxy: {http: 'http://u:p@h:1'}}\n"), 0o600)
	var buf bytes.Buffer
	err := Write(&buf, Options{Machine: m, ConfigPath: cfg, ImageDir: t.TempDir(), Status: &api.Status{State: api.StateStopped}, Version: "test",
		DriverReport: map[string]string{"wsl-version.txt": "WSL version: 2.6.1.0\n", "../escape.txt": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "berth-diagnose/")] = string(b)
	}
	if files["driver/wsl-version.txt"] != "WSL version: 2.6.1.0\n" || files["driver/escape.txt"] != "x" {
		t.Errorf("the driver's report is not under driver/, each name kept inside it: %v", files)
	}
	for _, f := range []string{"status.json", "versions.txt", "config.yaml", "hostagent.log", "serial.log"} {
		if _, ok := files[f]; !ok {
			t.Errorf("bundle lacks %s (has %v)", f, files)
		}
	}
	if strings.Contains(files["config.yaml"], "u:p") {
		t.Error("credentials in the bundle")
	}
	if !strings.Contains(files["status.json"], `"state": "stopped"`) || !strings.Contains(files["versions.txt"], "berth: test") {
		t.Errorf("status/versions: %v", files)
	}
}

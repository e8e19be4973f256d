package initd

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadWSLConfig(t *testing.T) {
	// One JSON document from a pipe the host keeps open: no EOF needed.
	r, w := io.Pipe()
	go func() { _, _ = io.WriteString(w, `{"hostname":"berth"}`+"\n") }()
	b, err := readWSLConfig("-", r)
	if err != nil || string(b) != `{"hostname":"berth"}` {
		t.Fatalf("stdin: %q, %v", b, err)
	}
	w.Close()

	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(`{"hostname":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readWSLConfig(p, nil); err != nil || string(b) != `{"hostname":"x"}` {
		t.Fatalf("file: %q, %v", b, err)
	}
	if _, err := readWSLConfig("-", strings.NewReader("")); err == nil {
		t.Error("empty stdin read as a config")
	}
}

func TestParseConfigWSL(t *testing.T) {
	// No network, disk or shares: WSL owns them.
	cfg, _, err := ParseConfigWSL([]byte(`{"hostname":"berth","engine":{"stopTimeout":"10s"}}`))
	if err != nil || cfg.Hostname != "berth" {
		t.Fatalf("%+v, %v", cfg, err)
	}
	if _, _, err := ParseConfig([]byte(`{"hostname":"berth"}`)); err == nil {
		t.Error("the VM's validation took a config without network and disk")
	}
	for _, bad := range []string{
		`{"hostname":""}`,
		`{"hostname":"b","network":{"dns":["nope"]}}`,
		`{"hostname":"b","engine":{"daemonJSON":{"hosts":["tcp://0.0.0.0:2375"]}}}`,
	} {
		if _, _, err := ParseConfigWSL([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

package winservice

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareDataRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Berth", "windows")
	if err := prepareDataRoot(root); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "daemon.json")
	if b, err := os.ReadFile(p); err != nil || string(b) != "{}\n" {
		t.Fatalf("daemon.json = %q, %v", b, err)
	}
	if err := os.WriteFile(p, []byte(`{"debug":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := prepareDataRoot(root); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != `{"debug":true}` {
		t.Fatalf("the administrator's daemon.json was replaced: %q", b)
	}
	if st := Unavailable("no dockerd.exe").Status(); st.State != "unavailable" || st.Reason != "no dockerd.exe" || st.Host != EngineHost {
		t.Fatalf("Unavailable = %+v", st)
	}
}

package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/api"
)

// The settings go through the config's own validation: a bad value is
// refused with the problem under its field and the file untouched; a good
// one is saved (comments kept) and, on a running machine, says a restart
// applies it.
func TestSettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	orig := "# my machine\ncpus: 1\nshares:\n  - path: " + dir + "\n    readOnly: true\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	host := config.Host{CPUs: 2, MemoryMiB: 4096, Home: dir}
	running, _, err := config.Check([]byte(orig), host)
	if err != nil {
		t.Fatal(err)
	}
	f, dial := newFakeEngine(t)
	agent := &fakeAgent{status: api.Status{State: api.StateRunning, ConfigDigest: running.Digest()}}
	s, err := Start(Options{Agent: agent, Docker: dial, ConfigPath: path, Host: host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	_, p := startPageOn(t, s, f)

	var got Settings
	code, body := p.do("GET", "/api/settings")
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Values["cpus"] != "1" || got.Values["shares"] != dir ||
		got.Defaults["memory"] != "2048MiB" || got.Restart {
		t.Fatalf("settings: %d %s", code, body)
	}
	post := func(values map[string]string) (int, SettingsError, Settings) {
		b, _ := json.Marshal(map[string]any{"values": values})
		code, body := p.post("/api/settings", b)
		var se SettingsError
		var st Settings
		_ = json.Unmarshal(body, &se)
		_ = json.Unmarshal(body, &st)
		return code, se, st
	}
	for _, tc := range []struct {
		values map[string]string
		want   map[string]string // key → words of its error
	}{
		{map[string]string{"cpus": "abc"}, map[string]string{"cpus": "cpus"}},
		{map[string]string{"cpus": "9"}, map[string]string{"cpus": "this host has 2 CPUs"}},
		{map[string]string{"memory": "lots", "engine.proxy.http": "proxy"}, map[string]string{"memory": `"lots" is not a size`, "engine.proxy.http": "is not a URL"}},
		{map[string]string{"shares": "relative/dir"}, map[string]string{"shares": "must be an absolute path"}},
		{map[string]string{"ports.defaultBind": "everywhere"}, map[string]string{"ports.defaultBind": "not one of all, loopback"}},
		{map[string]string{"arch": "arm64"}, map[string]string{"arch": "not a setting of this page"}},
	} {
		code, se, _ := post(tc.values)
		if code != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", tc.values, code)
		}
		for k, words := range tc.want {
			if !strings.Contains(se.Errors[k], words) {
				t.Errorf("%v: errors %q, want %q under %q", tc.values, se.Errors, words, k)
			}
		}
		if b, _ := os.ReadFile(path); string(b) != orig {
			t.Fatalf("%v: the file changed though refused:\n%s", tc.values, b)
		}
	}
	code, se, st := post(map[string]string{"memory": "1GiB", "engine.proxy.http": "http://proxy.example:3128", "shares": dir + "\n" + t.TempDir()})
	if code != http.StatusOK || st.Values["memory"] != "1GiB" || !st.Restart {
		t.Fatalf("a good change: %d %v %+v", code, se, st)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte("# my machine")) || !bytes.Contains(b, []byte("      readOnly: true\n")) {
		t.Errorf("the saved file lost a comment or a share's readOnly:\n%s", b)
	}
	r, _, err := config.Check(b, host)
	if err != nil || r.MemoryMiB != 1024 || r.Proxy.HTTP != "http://proxy.example:3128" || len(r.Shares) != 2 || !r.Shares[0].ReadOnly {
		t.Errorf("saved: %+v, %v", r, err)
	}
	// An empty field unsets the key: the default again.
	if code, se, st := post(map[string]string{"memory": ""}); code != http.StatusOK || st.Values["memory"] != "" {
		t.Errorf("unset memory: %d %v %+v", code, se, st)
	}
}

func TestFieldErrors(t *testing.T) {
	got := fieldErrors(errorsJoin("cpus: 9 is out of range", "line 3: memory: \"x\" is not a string", "shares[1].path: \"a\" must be absolute", "dns.servers[0]: bad"))
	want := map[string]string{"cpus": "cpus: 9 is out of range", "memory": "line 3: memory: \"x\" is not a string",
		"shares": "shares[1].path: \"a\" must be absolute", "": "dns.servers[0]: bad"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q: %q, want %q", k, got[k], v)
		}
	}
}

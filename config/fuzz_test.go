package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// seedConfigs are config files as users write them (the README's
// examples), and a few that the parser must refuse.
var seedConfigs = []string{
	"cpus: 2\nmemory: 1GiB\n",
	"cpus: 4\nmemory: 4GiB\ndisk: 100GiB\narch: arm64\n",
	"engine:\n  daemon:\n    registry-mirrors: [\"https://mirror.example\"]\n  proxy:\n    https: http://proxy.example:3128\n    noProxy: localhost,.internal\n  metricsPort: 9323\n",
	"dns:\n  servers: [192.0.2.53]\n",
	"shares:\n  - path: ~\n  - path: /data\n    readOnly: true\n  - path: /srv/www\n    windowsPath: C:\\www\n",
	"resourceSaver: {idle: 90s}\n",
	"ports:\n  defaultBind: loopback\n",
	"cpus: four\n",
	"engine:\n  proxy:\n    https: [a]\n",
	"a: &a [*a, *a]\nb: *a\n",
	"cpus: 2\ncpus: 3\n",
	"- not\n- a mapping\n",
	"engine:\n  daemon: {hosts: [tcp://0.0.0.0:2375]}\n",
}

var unknownKeyWarning = regexp.MustCompile(`^line [0-9]+: unknown key ".*"$`)

// FuzzCheck: any file is either refused with an error that says what is
// wrong, or resolved to the same config every time, with warnings that
// each name an unknown key and its line.
func FuzzCheck(f *testing.F) {
	f.Add(DefaultFile)
	for _, s := range seedConfigs {
		f.Add([]byte(s))
	}
	h := Host{CPUs: 4, MemoryMiB: 8192, Home: f.TempDir()}
	f.Fuzz(func(t *testing.T, b []byte) {
		defer time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("Check(%q) takes more than 5s", b)) }).Stop()
		r, warnings, err := Check(b, h)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: an error with no message", b)
			}
			return
		}
		for _, w := range warnings {
			if !unknownKeyWarning.MatchString(w) {
				t.Fatalf("%q: warning %q names no key and line", b, w)
			}
		}
		if r.CPUs < 1 || r.CPUs > h.CPUs || r.MemoryMiB < 1 || r.MemoryMiB > h.MemoryMiB || r.DiskGiB < 1 {
			t.Fatalf("%q: accepted out-of-range resources %+v", b, r)
		}
		again, _, err := Check(b, h)
		if err != nil || again.Digest() != r.Digest() {
			t.Fatalf("%q: a second check differs: %+v, %v", b, again, err)
		}
	})
}

// FuzzSetSave is `berth config set KEY VALUE` on any existing file: the
// file on disk is either replaced by a valid config that loads, or left
// byte for byte as it was, with no temporary file left next to it.
func FuzzSetSave(f *testing.F) {
	for _, s := range seedConfigs {
		f.Add([]byte(s), "cpus", "3")
		f.Add([]byte(s), "engine.proxy.http", "http://user:pw@proxy.example:3128")
	}
	f.Add(DefaultFile, "memory", "4GiB")
	f.Add(DefaultFile, "engine.daemon.registry-mirrors", `["https://mirror.example"]`)
	f.Add([]byte("# only a comment\n"), "dns.servers", "[192.0.2.53]")
	f.Add([]byte("cpus: 2\n"), "cpus", "{a: b}")
	f.Add([]byte("cpus: 2\n"), "cpus.x", "1")
	f.Add([]byte("cpus: 2\n"), "shares", "[{path: /nonexistent}]")
	h := Host{CPUs: 4, MemoryMiB: 8192, Home: f.TempDir()}
	f.Fuzz(func(t *testing.T, old []byte, key, value string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, old, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := Set(old, key, value)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("Set failed with no message")
			}
			return
		}
		_, saveErr := Save(p, out, h)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case saveErr != nil && !bytes.Equal(got, old):
			t.Fatalf("a refused save (%v) changed the file:\n%q\nto\n%q", saveErr, old, got)
		case saveErr == nil && !bytes.Equal(got, out):
			t.Fatalf("saved %q, the file holds %q", out, got)
		case saveErr == nil:
			if _, _, err := LoadResolved(p, h); err != nil {
				t.Fatalf("a saved file does not load: %v\n%s", err, got)
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("saved file mode %v, %v; want 0600", fi.Mode(), err)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("files left next to the config: %v", ents)
		}
	})
}

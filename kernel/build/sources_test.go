package build

import (
	"os"
	"path/filepath"
	"testing"
)

const oneLine = `# a comment
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.invalid/debian bookworm main contrib
deb-src http://mirror.invalid/debian bookworm main
# deb http://commented.invalid/debian bookworm main
deb http://security.invalid/debian-security bookworm-security main
deb https://download.docker.invalid/linux/debian bookworm stable
`

func TestParseOneLineSources(t *testing.T) {
	srcs := ParseOneLineSources(oneLine, "sources.list")
	if len(srcs) != 4 {
		t.Fatalf("got %d sources, want 4: %+v", len(srcs), srcs)
	}
	s := srcs[0]
	if s.URI != "http://mirror.invalid/debian" || s.Suites[0] != "bookworm" || s.Signed != "/usr/share/keyrings/k.gpg" || !s.debSource {
		t.Errorf("first source: %+v", s)
	}
	if srcs[1].debSource {
		t.Errorf("deb-src counted as deb: %+v", srcs[1])
	}
	m, ok := PickDebianArchive(srcs)
	if !ok || m.URI != "http://mirror.invalid/debian" || m.Keyring != "/usr/share/keyrings/k.gpg" {
		t.Errorf("picked %+v %v", m, ok)
	}
}

const deb822 = `Types: deb
# http://snapshot.invalid/archive/debian/20250520T000000Z
URIs: http://disabled.invalid/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: https://download.docker.invalid/linux/debian
Suites: bookworm
Components: stable

Types: deb deb-src
URIs: http://mirror.invalid/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main
`

func TestParseDeb822Sources(t *testing.T) {
	srcs := ParseDeb822Sources(deb822, "debian.sources")
	if len(srcs) != 4 {
		t.Fatalf("got %d sources: %+v", len(srcs), srcs)
	}
	if !srcs[0].Disabled {
		t.Errorf("Enabled: no not honoured: %+v", srcs[0])
	}
	m, ok := PickDebianArchive(srcs)
	if !ok || m.URI != "http://mirror.invalid/debian" || m.Keyring != DefaultKeyring {
		t.Errorf("picked %+v %v", m, ok)
	}
}

func TestPickDebianArchiveNone(t *testing.T) {
	srcs := ParseOneLineSources("deb http://mirror.invalid/debian-security bookworm-security main\n"+
		"deb http://ports.invalid/ubuntu jammy main\n", "x")
	if m, ok := PickDebianArchive(srcs); ok {
		t.Errorf("picked %+v from sources without a Debian archive", m)
	}
}

func TestDeb822InlineKey(t *testing.T) {
	text := "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: trixie\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
	m, ok := PickDebianArchive(ParseDeb822Sources(text, "x"))
	if !ok || m.Keyring != DefaultKeyring {
		t.Errorf("inline key: %+v %v", m, ok)
	}
}

func TestFindMirror(t *testing.T) {
	etc := t.TempDir()
	d := filepath.Join(etc, "sources.list.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Disabled files (any suffix apt ignores) must not be read.
	write("other.list.disabled-by-admin", "deb http://wrong.invalid/debian bookworm main\n")
	write("other.sources.disabled", "Types: deb\nURIs: http://wrong.invalid/debian\nSuites: bookworm\nComponents: main\n")
	write("debian.sources", deb822)
	files := HostSourceFiles(etc)
	m, err := FindMirror("", files)
	if err != nil || m.URI != "http://mirror.invalid/debian" {
		t.Fatalf("FindMirror = %+v, %v", m, err)
	}
	m, err = FindMirror("http://override.invalid/debian/", files)
	if err != nil || m.URI != "http://override.invalid/debian" || m.Keyring != DefaultKeyring {
		t.Fatalf("override: %+v, %v", m, err)
	}
	if _, err := FindMirror("", HostSourceFiles(t.TempDir())); err == nil {
		t.Fatal("no sources: want an error")
	}
}

package build

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/berth-dev/berth/kernel"
)

func TestInputsDigest(t *testing.T) {
	base := InputsDigest("amd64", []byte("lock"), []byte("init"), nil)
	if base != InputsDigest("amd64", []byte("lock"), []byte("init"), nil) {
		t.Fatal("digest not stable")
	}
	for _, other := range []string{
		InputsDigest("arm64", []byte("lock"), []byte("init"), nil),
		InputsDigest("amd64", []byte("lock2"), []byte("init"), nil),
		InputsDigest("amd64", []byte("lock"), []byte("init2"), nil),
		InputsDigest("amd64", []byte("lock"), []byte("init"), []byte("host")),
	} {
		if other == base {
			t.Error("a changed input left the digest unchanged")
		}
	}
}

func writeImage(t *testing.T, dir, version string) {
	t.Helper()
	m := kernel.Manifest{Version: version, Files: map[string]string{}, Sizes: map[string]int64{}}
	for _, f := range artifactFiles {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		m.Files[f], m.Sizes[f] = "x", int64(len(f))
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, kernel.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	if UpToDate(dir, "v1") {
		t.Fatal("empty dir is up to date")
	}
	writeImage(t, dir, "v1")
	if !UpToDate(dir, "v1") {
		t.Fatal("complete image not up to date")
	}
	if UpToDate(dir, "v2") {
		t.Error("other version is up to date")
	}
	if err := os.WriteFile(filepath.Join(dir, kernel.RootfsFile), []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	if UpToDate(dir, "v1") {
		t.Error("artifact of another size is up to date")
	}
	writeImage(t, dir, "v1")
	os.Remove(filepath.Join(dir, kernel.KernelFile))
	if UpToDate(dir, "v1") {
		t.Error("missing artifact is up to date")
	}
	// A recorded host program counts like an artifact.
	writeImage(t, dir, "v1")
	b, _ := os.ReadFile(filepath.Join(dir, kernel.ManifestFile))
	var m kernel.Manifest
	json.Unmarshal(b, &m)
	m.Files["virtiofsd/usr/libexec/virtiofsd"], m.Sizes["virtiofsd/usr/libexec/virtiofsd"] = "x", 3
	b, _ = json.Marshal(m)
	os.WriteFile(filepath.Join(dir, kernel.ManifestFile), b, 0o644)
	if UpToDate(dir, "v1") {
		t.Error("image without its recorded virtiofsd is up to date")
	}
	os.MkdirAll(filepath.Join(dir, "virtiofsd/usr/libexec"), 0o755)
	os.WriteFile(filepath.Join(dir, "virtiofsd/usr/libexec/virtiofsd"), []byte("vfs"), 0o755)
	if !UpToDate(dir, "v1") {
		t.Error("image with its virtiofsd is not up to date")
	}
}

func TestMissingDebs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"runc_1.1_amd64.deb", "ca-certificates_2025_all.deb", "tini_0.19_arm64.deb", "busybox-static_1%3a1.37_amd64.deb"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pins := []Pin{{"runc", "1.1"}, {"ca-certificates", "2025"}, {"tini", "0.19"}, {"busybox-static", "1:1.37"}, {"runc", "1.2"}}
	got := MissingDebs(dir, "amd64", pins)
	want := []Pin{{"tini", "0.19"}, {"runc", "1.2"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("missing = %v, want %v", got, want)
	}
}

func TestUUIDFrom(t *testing.T) {
	u := uuidFrom(InputsDigest("amd64", nil, nil, nil))
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) {
		t.Errorf("uuid %s", u)
	}
}

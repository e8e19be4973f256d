package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func writeTree(t *testing.T, root string, when time.Time) {
	t.Helper()
	for _, d := range []string{"usr/bin", "usr/sbin", "etc", "a-c", "a/b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"usr/bin/busybox": "bb", "etc/passwd": "root", "etc/wsl.conf": "old", "a-c/x": "1", "a/b/y": "2"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("busybox", filepath.Join(root, "usr/bin/sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/busybox"), filepath.Join(root, "usr/sbin/bb")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(root, "etc/passwd"), when, when); err != nil {
		t.Fatal(err)
	}
}

func rootTar(t *testing.T, root string, modes map[string]fs.FileMode) []byte {
	t.Helper()
	var buf bytes.Buffer
	extra := []TarFile{{Name: WSLInitPath, Mode: 0o755, Data: []byte("init")}, {Name: "etc/wsl.conf", Mode: 0o644, Data: []byte(WSLConf)}}
	if err := WriteRootTar(&buf, root, modes, extra, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteRootTarReproducible(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the guest image is built on Linux (make image): a Windows file system has no Unix modes or hard links to put in the tar")
	}
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, time.Unix(1, 0))
	writeTree(t, b, time.Now())
	ta := rootTar(t, a, nil)
	if !bytes.Equal(ta, rootTar(t, b, nil)) {
		t.Fatal("two trees with the same contents but other times and inodes give different archives")
	}
	if !bytes.Equal(ta, rootTar(t, a, nil)) {
		t.Fatal("the same tree gives different archives")
	}

	zr, err := gzip.NewReader(bytes.NewReader(ta))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q, time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	got := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		got[h.Name] = h
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
		if h.Name == "etc/wsl.conf" {
			body, _ := io.ReadAll(tr)
			if string(body) != WSLConf {
				t.Errorf("etc/wsl.conf is the tree's, not the extra file")
			}
		}
	}
	want := "a/ a/b/ a/b/y a-c/ a-c/x etc/ etc/passwd etc/wsl.conf usr/ usr/bin/ usr/bin/busybox usr/bin/sh usr/sbin/ usr/sbin/bb usr/sbin/berth-init"
	if strings.Join(names, " ") != want {
		t.Errorf("entries\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	if h := got["usr/sbin/bb"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/busybox" {
		t.Errorf("hard link: %+v", h)
	}
	if h := got["usr/bin/sh"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
		t.Errorf("symlink: %+v", h)
	}
	if h := got[WSLInitPath]; h == nil || h.Mode != 0o755 {
		t.Errorf("init: %+v", h)
	}
}

func TestWriteRootTarModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the guest image is built on Linux (make image): a Windows file system has no Unix modes or hard links to put in the tar")
	}
	root := t.TempDir()
	writeTree(t, root, time.Unix(1, 0))
	// etc/passwd stands in for chage: setgid to the shadow group (42).
	modes, err := ParseModeList([]byte("4755 0 0 usr/bin/busybox\x001777 0 0 a\x002755 0 42 etc/passwd\x004755 1000 0 a-c/x\x00"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(rootTar(t, root, modes)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	want := map[string]int64{"usr/bin/busybox": 0o4755, "a/": 0o1777, "etc/passwd": 0o755, "a-c/": 0o755, "a-c/x": 0o755}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if m, ok := want[h.Name]; ok && h.Mode != m {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, m)
		}
	}
	if _, err := ParseModeList([]byte("rwx 0 0 etc\x00")); err == nil {
		t.Error("a bad mode parsed")
	}
}

func TestWSLConf(t *testing.T) {
	want := map[string]string{
		"interop.enabled": "false", "interop.appendWindowsPath": "false",
		"network.generateHosts": "false", "network.generateResolvConf": "false",
		"boot.systemd": "false", "user.default": "root", "automount.cgroups": "v2",
	}
	got := map[string]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(WSLConf))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("bad line %q", line)
			}
			got[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["boot.command"]; ok {
		t.Error("boot.command set: the host starts the init itself, through wsl.exe")
	}
}

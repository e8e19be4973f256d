package build

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WSLInitPath is where the WSL root file system holds the guest init; the
// host runs it there with --wsl (in the VM it is the initramfs's /init).
const WSLInitPath = "usr/sbin/berth-init"

// WSLConf is the distro's /etc/wsl.conf: Microsoft's /init reads it when
// the distro starts (keys: microsoft/WSL src/linux/init/WslDistributionConfig.cpp).
// The distro is Berth's engine, not a user's shell: no Windows programs on
// PATH or through binfmt, no generated /etc/hosts and /etc/resolv.conf (the
// guest init writes its own), no systemd, root by default. Windows drives
// stay mounted at /mnt/<drive>, where bind mounts of C:\... land; fstab is
// not read (the image has none), and cgroups come as v2 only, which the
// engine expects.
const WSLConf = `# Written by berth-image; the distro is Berth's engine.
[automount]
enabled = true
root = /mnt/
mountFsTab = false
cgroups = v2

[interop]
enabled = false
appendWindowsPath = false

[network]
generateHosts = false
generateResolvConf = false

[boot]
systemd = false

[user]
default = root
`

// TarFile is a file the tarball holds that the tree does not.
type TarFile struct {
	Name string // slash-separated, relative to the root
	Mode fs.FileMode
	Data []byte
}

// WriteRootTar writes the tree at root as a gzip'd tar for `wsl --import`,
// with extra files added (or put in place of the tree's). The archive
// depends only on the tree's names, contents, link targets and modes:
// entries in path order (a directory before what it holds), every time
// mtime, every owner 0:0 (the image has no other owner), gzip without a
// name or time. modes, when not nil, gives the mode of each path (what
// fakeroot recorded) in place of the tree's own.
func WriteRootTar(w io.Writer, root string, modes map[string]fs.FileMode, extra []TarFile, mtime time.Time) error {
	type entry struct {
		name string
		fi   fs.FileInfo
		file *TarFile
	}
	var entries []entry
	byName := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := filepath.ToSlash(rel)
		byName[name] = len(entries)
		entries = append(entries, entry{name: name, fi: fi})
		return nil
	})
	if err != nil {
		return err
	}
	for i := range extra {
		f := &extra[i]
		if j, ok := byName[f.Name]; ok {
			entries[j].file = f
			continue
		}
		entries = append(entries, entry{name: f.Name, file: f})
	}
	// "/" as the lowest byte: a/b sorts right after a, before a-c.
	key := func(s string) string { return strings.ReplaceAll(s, "/", "\x00") }
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(key(a.name), key(b.name)) })

	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	links := map[[2]uint64]string{} // (dev, inode) of a regular file → its first name
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, ModTime: mtime.Truncate(time.Second), Format: tar.FormatPAX}
		var body io.Reader
		switch {
		case e.file != nil:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, int64(e.file.Mode.Perm()), int64(len(e.file.Data))
			body = bytes.NewReader(e.file.Data)
		default:
			if hdr, body, err = treeEntry(root, e.name, e.fi, modes, links, hdr); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if body != nil {
			if _, err := io.Copy(tw, body); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			if c, ok := body.(io.Closer); ok {
				c.Close()
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// treeEntry fills hdr for a path of the tree; body is the file's contents
// (nil for anything but a regular file's first name).
func treeEntry(root, name string, fi fs.FileInfo, modes map[string]fs.FileMode, links map[[2]uint64]string, hdr *tar.Header) (*tar.Header, io.Reader, error) {
	mode := fi.Mode()
	if m, ok := modes[name]; ok {
		mode = mode.Type() | m
	}
	hdr.Mode = int64(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		hdr.Mode |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		hdr.Mode |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		hdr.Mode |= 0o1000
	}
	p := filepath.Join(root, filepath.FromSlash(name))
	switch {
	case mode.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		return hdr, nil, nil
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return nil, nil, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return hdr, nil, nil
	case mode.IsRegular():
		if id, ok := hardLinkID(fi); ok {
			if first, seen := links[id]; seen {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				return hdr, nil, nil
			}
			links[id] = name
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, err
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
		return hdr, f, nil
	default:
		return nil, nil, fmt.Errorf("/%s: a %s has no place in the WSL root file system", name, mode.Type())
	}
}

// ParseModeList reads `find -printf '%m %U %G %P\0'` output: octal
// permission bits (with setuid, setgid, sticky), numeric owner and group,
// and a path relative to the root. The tarball makes every owner 0:0, so a
// setuid or setgid bit for another owner or group (passwd's shadow group)
// is dropped rather than turned into root's.
func ParseModeList(b []byte) (map[string]fs.FileMode, error) {
	modes := map[string]fs.FileMode{}
	for _, rec := range bytes.Split(b, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		f := strings.SplitN(string(rec), " ", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("mode list: bad record %q", rec)
		}
		octal, uid, gid, name := f[0], f[1], f[2], f[3]
		n, err := strconv.ParseUint(octal, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("mode list: %q: %w", rec, err)
		}
		m := fs.FileMode(n & 0o777)
		if n&0o4000 != 0 && uid == "0" {
			m |= fs.ModeSetuid
		}
		if n&0o2000 != 0 && gid == "0" {
			m |= fs.ModeSetgid
		}
		if n&0o1000 != 0 {
			m |= fs.ModeSticky
		}
		if name != "" {
			modes[name] = m
		}
	}
	return modes, nil
}

// writeWSLRootfs writes the WSL flavour of the guest from the same tree as
// rootfs.img: the tree, the guest init at WSLInitPath and /etc/wsl.conf.
// Modes come through the runner, so under fakeroot they are the ones
// dpkg-deb and the fixups recorded, as in the ext4 image.
func writeWSLRootfs(ctx context.Context, r *runner, root string, initBin []byte, dst string, mtime time.Time) error {
	out, err := r.output(ctx, []string{"find", root, "-mindepth", "1", "-printf", `%m %U %G %P\0`})
	if err != nil {
		return err
	}
	modes, err := ParseModeList(out)
	if err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	extra := []TarFile{
		{Name: WSLInitPath, Mode: 0o755, Data: initBin},
		{Name: "etc/wsl.conf", Mode: 0o644, Data: []byte(WSLConf)},
	}
	if err := WriteRootTar(f, root, modes, extra, mtime); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", filepath.Base(dst), err)
	}
	return f.Close()
}

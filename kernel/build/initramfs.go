package build

import (
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cavaliergopher/cpio"
)

// Paths inside the initramfs; the guest init relies on them.
const (
	InitramfsInit        = "init"          // the guest init, PID 1
	InitramfsModulesDir  = "modules"       // decompressed .ko files
	InitramfsModuleOrder = "modules/order" // .ko file names, one per line, load order
	// InitramfsModuleOrderHyperV is the load order of a Hyper-V VM
	// (HyperVInitramfsModules), over the same files.
	InitramfsModuleOrderHyperV = "modules/order.hyperv"
)

// InitramfsFile is one regular file of the initramfs.
type InitramfsFile struct {
	Name string // path without leading slash
	Mode uint32 // permission bits
	Data []byte
}

// InitramfsContents lays out the base initramfs: /init, the modules of a
// virtio VM in load order and /modules/order, then the modules only a
// Hyper-V VM needs and /modules/order.hyperv (hyperv: the names of its
// load order, over both sets of files). Directories the init mounts on
// are included so it need not create them. /dev/console is not: the
// kernel's built-in initramfs, unpacked first, already has it.
func InitramfsContents(initBinary []byte, modules, hypervOnly []InitramfsFile, hyperv []string) []InitramfsFile {
	files := []InitramfsFile{{Name: InitramfsInit, Mode: 0o755, Data: initBinary}}
	var order strings.Builder
	for _, m := range modules {
		files = append(files, InitramfsFile{Name: InitramfsModulesDir + "/" + m.Name, Mode: 0o644, Data: m.Data})
		order.WriteString(m.Name + "\n")
	}
	files = append(files, InitramfsFile{Name: InitramfsModuleOrder, Mode: 0o644, Data: []byte(order.String())})
	for _, m := range hypervOnly {
		files = append(files, InitramfsFile{Name: InitramfsModulesDir + "/" + m.Name, Mode: 0o644, Data: m.Data})
	}
	if len(hyperv) > 0 {
		files = append(files, InitramfsFile{Name: InitramfsModuleOrderHyperV, Mode: 0o644, Data: []byte(strings.Join(hyperv, "\n") + "\n")})
	}
	return files
}

// initramfsDirs are created before the files, in this order.
var initramfsDirs = []string{"dev", "proc", "sys", "run", "tmp", InitramfsModulesDir}

// WriteInitramfs writes a gzip-compressed newc cpio archive of the
// directories above and files, all owned by root and dated mtime, so the
// same input gives the same bytes.
func WriteInitramfs(w io.Writer, files []InitramfsFile, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	cw := cpio.NewWriter(zw)
	ino := int64(1)
	add := func(h *cpio.Header, data []byte) error {
		h.Inode, h.ModTime = ino, mtime
		ino++
		if err := cw.WriteHeader(h); err != nil {
			return fmt.Errorf("initramfs %s: %w", h.Name, err)
		}
		if _, err := cw.Write(data); err != nil {
			return fmt.Errorf("initramfs %s: %w", h.Name, err)
		}
		return nil
	}
	for _, d := range initramfsDirs {
		mode := cpio.FileMode(cpio.TypeDir | 0o755)
		if d == "tmp" {
			mode = cpio.TypeDir | cpio.ModeSticky | 0o777
		}
		if err := add(&cpio.Header{Name: d, Mode: mode, Links: 2}, nil); err != nil {
			return err
		}
	}
	for _, f := range files {
		h := &cpio.Header{Name: f.Name, Mode: cpio.FileMode(cpio.TypeReg | f.Mode&0o7777), Size: int64(len(f.Data)), Links: 1}
		if err := add(h, f.Data); err != nil {
			return err
		}
	}
	if err := cw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

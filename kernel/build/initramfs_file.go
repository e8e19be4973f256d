package build

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// writeInitramfsFile writes the initramfs for the kernel release krel
// unpacked in root (after depmod) to dst.
func writeInitramfsFile(root, krel string, initBin []byte, dst string, mtime time.Time) error {
	modDir := filepath.Join(root, "usr/lib/modules", krel)
	depText, err := os.ReadFile(filepath.Join(modDir, "modules.dep"))
	if err != nil {
		return fmt.Errorf("reading modules.dep (did depmod run?): %w", err)
	}
	deps, err := ParseModulesDep(string(depText))
	if err != nil {
		return err
	}
	builtinText, err := os.ReadFile(filepath.Join(modDir, "modules.builtin"))
	if err != nil {
		return err
	}
	builtin := strings.Fields(string(builtinText))
	order, err := deps.LoadOrder(InitramfsModules, builtin)
	if err != nil {
		return err
	}
	hvOrder, err := deps.LoadOrder(HyperVInitramfsModules, builtin)
	if err != nil {
		return fmt.Errorf("the Hyper-V VM's modules: %w", err)
	}
	hvOnly, hvNames := HyperVOnly(order, hvOrder)
	mods, err := readModules(modDir, order)
	if err != nil {
		return err
	}
	hvMods, err := readModules(modDir, hvOnly)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteInitramfs(&buf, InitramfsContents(initBin, mods, hvMods, hvNames), mtime); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// HyperVOnly is what the Hyper-V load order hvOrder adds to the virtio
// one, order (module paths, both): the paths of the files to add, and the
// decompressed names of hvOrder, the Hyper-V VM's whole load order.
func HyperVOnly(order, hvOrder []string) (paths, names []string) {
	have := map[string]bool{}
	for _, p := range order {
		have[p] = true
	}
	for _, p := range hvOrder {
		if !have[p] {
			paths = append(paths, p)
		}
		names = append(names, DecompressedName(p))
	}
	return paths, names
}

func readModules(modDir string, paths []string) ([]InitramfsFile, error) {
	var mods []InitramfsFile
	for _, p := range paths {
		data, err := readModule(filepath.Join(modDir, p))
		if err != nil {
			return nil, err
		}
		mods = append(mods, InitramfsFile{Name: DecompressedName(p), Data: data})
	}
	return mods, nil
}

// readModule reads a module file, decompressing .ko.xz.
func readModule(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	switch {
	case strings.HasSuffix(p, ".ko"):
		return io.ReadAll(f)
	case strings.HasSuffix(p, ".ko.xz"):
		r, err := xz.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", p, err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%s: unsupported module compression", p)
	}
}

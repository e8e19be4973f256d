// Package initrd writes a boot's initrd: the guest image's initramfs
// followed by a second cpio archive holding this boot's guest config. The
// host agent writes one for every kernel boot; berth-service writes the
// Hyper-V machine's from its own copy of the image.
package initrd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cavaliergopher/cpio"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/atomicfile"
)

// Write writes base (the image's initramfs) followed by a second, plain
// cpio archive holding cfg to dst, owner-only, atomically. The kernel
// unpacks concatenated archives in order, so the guest finds
// guestconfig.Path next to its init. An invalid cfg writes nothing.
func Write(dst, base string, cfg guestconfig.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("guest config: %w", err)
	}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	in, err := os.Open(base)
	if err != nil {
		return fmt.Errorf("opening the image's initramfs: %w", err)
	}
	defer in.Close()
	return atomicfile.Write(dst, 0o600, func(out io.Writer) error {
		n, err := io.Copy(out, in)
		if err != nil {
			return fmt.Errorf("copying initramfs: %w", err)
		}
		// newc archives start on a 4-byte boundary.
		if pad := (4 - n%4) % 4; pad != 0 {
			if _, err := out.Write(make([]byte, pad)); err != nil {
				return err
			}
		}
		if err := appendConfig(out, js); err != nil {
			return fmt.Errorf("appending guest config: %w", err)
		}
		return nil
	})
}

func appendConfig(w io.Writer, js []byte) error {
	cw := cpio.NewWriter(w)
	dir := guestconfig.Path[1 : len(guestconfig.Path)-len("/config.json")]
	if err := cw.WriteHeader(&cpio.Header{Name: dir, Mode: cpio.TypeDir | 0o755}); err != nil {
		return err
	}
	if err := cw.WriteHeader(&cpio.Header{Name: guestconfig.Path[1:], Mode: cpio.TypeReg | 0o600, Size: int64(len(js))}); err != nil {
		return err
	}
	if _, err := cw.Write(js); err != nil {
		return err
	}
	return cw.Close()
}

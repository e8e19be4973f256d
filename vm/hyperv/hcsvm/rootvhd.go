package hcsvm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/Microsoft/hcsshim/ext4/tar2ext4"
)

// vhdFooterSize is a VHD's footer: a fixed VHD is the disk's bytes and
// these 512.
const vhdFooterSize = 512

// ensureRootVHD makes vhd the root file system image (raw ext4) followed
// by a fixed-size VHD footer, which is all HCS needs to attach it
// (hcsshim's tar2ext4 writes the footer, as it does for its own utility
// VMs' root disks). An existing vhd is kept while it is the image's size
// plus the footer and not older than the image; otherwise it is made
// again under a temporary name and renamed, so no VM ever sees half of
// one. (A VM that runs from the old one keeps it open: the rename then
// fails, and says so.)
func ensureRootVHD(image, vhd string) error {
	img, err := os.Stat(image)
	if err != nil {
		return fmt.Errorf("the guest image's root file system: %w", err)
	}
	if cur, err := os.Stat(vhd); err == nil && cur.Size() == img.Size()+vhdFooterSize && !cur.ModTime().Before(img.ModTime()) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(vhd), 0o755); err != nil {
		return fmt.Errorf("the root disk's directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(vhd), filepath.Base(vhd)+".*.tmp")
	if err != nil {
		return fmt.Errorf("the root disk: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	err = copyWithFooter(tmp, image)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), vhd)
	}
	if err != nil {
		return fmt.Errorf("making the root disk %s from %s: %w", vhd, image, err)
	}
	return nil
}

func copyWithFooter(dst *os.File, image string) error {
	src, err := os.Open(image)
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := io.Copy(dst, src)
	if err != nil {
		return err
	}
	// A VHD's size is a whole number of sectors.
	if n%512 != 0 {
		return errors.New("the image's size is not a multiple of 512 bytes")
	}
	if err := tar2ext4.ConvertToVhd(dst); err != nil {
		return fmt.Errorf("writing the VHD footer: %w", err)
	}
	return dst.Sync()
}

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/installer/layout"
	"github.com/berth-dev/berth/store"
)

// envImageDir overrides where the guest image is looked for.
const envImageDir = "BERTH_IMAGE_DIR"

func openMachine(g *globals) (store.Machine, error) {
	home, err := store.Home()
	if err != nil {
		return store.Machine{}, err
	}
	return store.Open(home, g.machine)
}

// imageDir finds machine m's guest image: $BERTH_IMAGE_DIR, else where an
// install (or `make`) puts it next to the binary:
// <bin>/../share/berth/image/<arch>, or in Berth.app
// <bin>/../Resources/image/<arch>, for the machine's architecture
// (lifecycle.ImageArch; layout.ImageDirs).
func imageDir(m store.Machine) (string, error) {
	if d := os.Getenv(envImageDir); d != "" {
		return filepath.Abs(d)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locating the berth binary (set %s): %w", envImageDir, err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	cfg, err := configPath()
	if err != nil {
		return "", err
	}
	return layout.FindImageDir(filepath.Dir(exe), lifecycle.ImageArch(m, cfg)), nil
}

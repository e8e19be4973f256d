package autostart

import (
	"os"
	"path/filepath"
)

// xdgAutostartDir is $XDG_CONFIG_HOME/autostart, ~/.config/autostart by
// default.
func xdgAutostartDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "autostart"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "autostart"), nil
}

func set(name, command string) error {
	dir, err := xdgAutostartDir()
	if err != nil {
		return err
	}
	return setXDG(dir, name, command)
}

func get(name string) (string, bool, error) {
	dir, err := xdgAutostartDir()
	if err != nil {
		return "", false, err
	}
	return getXDG(dir, name)
}

func del(name string) error {
	dir, err := xdgAutostartDir()
	if err != nil {
		return err
	}
	return deleteXDG(dir, name)
}

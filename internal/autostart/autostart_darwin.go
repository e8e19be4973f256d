package autostart

import (
	"os"
	"path/filepath"
)

// launchAgentsDir is the user's ~/Library/LaunchAgents.
func launchAgentsDir() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents"), nil
}

func set(name, command string) error {
	dir, err := launchAgentsDir()
	if err != nil {
		return err
	}
	return setLaunchAgent(dir, name, command)
}

func get(name string) (string, bool, error) {
	dir, err := launchAgentsDir()
	if err != nil {
		return "", false, err
	}
	return getLaunchAgent(dir, name)
}

func del(name string) error {
	dir, err := launchAgentsDir()
	if err != nil {
		return err
	}
	return deleteLaunchAgent(dir, name)
}

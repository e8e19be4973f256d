package tray

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/store"
)

// SettingsFile is the tray's own settings, in the state directory
// ($BERTH_HOME/tray.json). They are not in config.yaml: that file describes
// the machine and is the user's, comments and all; these are answers the
// tray remembers from its own menu and dialogs, and change nothing in the
// machine.
const SettingsFile = store.TraySettingsFile

// OnQuit is what quitting the tray does to the engine.
type OnQuit string

const (
	OnQuitAsk   OnQuit = "ask"
	OnQuitStop  OnQuit = "stop"
	OnQuitLeave OnQuit = "leave"
)

// Settings are the tray's preferences.
type Settings struct {
	// StartEngine starts the machine when the tray starts and no agent runs.
	StartEngine bool   `json:"startEngine"`
	OnQuit      OnQuit `json:"onQuit"`
}

// DefaultSettings: start the engine with the tray, ask on quit.
func DefaultSettings() Settings { return Settings{StartEngine: true, OnQuit: OnQuitAsk} }

// LoadSettings reads the settings at path; a missing file is the defaults,
// and an unknown OnQuit value is "ask".
func LoadSettings(path string) (Settings, error) {
	s := DefaultSettings()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return DefaultSettings(), fmt.Errorf("%s: %w", path, err)
	}
	switch s.OnQuit {
	case OnQuitAsk, OnQuitStop, OnQuitLeave:
	default:
		s.OnQuit = OnQuitAsk
	}
	return s, nil
}

// SaveSettings writes the settings atomically, private to the user.
func SaveSettings(path string, s Settings) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tray-*.json")
	if err != nil {
		return fmt.Errorf("saving tray settings: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving tray settings: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving tray settings: %w", err)
	}
	// On Windows a reader holding the file open makes the replace fail for
	// a moment (a sharing violation): try again briefly.
	for i := 0; ; i++ {
		err = os.Rename(tmp.Name(), path)
		if err == nil || i == 20 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("saving tray settings: %w", err)
	}
	return nil
}

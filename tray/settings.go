package tray

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/berth-dev/berth/store"

	"github.com/berth-dev/berth/internal/atomicfile"
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
	// atomicfile retries the replace on Windows, where a reader holding
	// the file open makes it fail for a moment.
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving tray settings: %w", err)
	}
	return nil
}

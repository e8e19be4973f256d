package winservice

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// prepareDataRoot makes the engine's directory and an empty daemon.json in
// it when there is none: dockerd refuses a --config-file that does not
// exist. An existing daemon.json (the administrator's settings) is kept.
func prepareDataRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("the Windows engine's directory: %w", err)
	}
	p := filepath.Join(root, "daemon.json")
	if _, err := os.Stat(p); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the Windows engine's daemon.json: %w", err)
	}
	if err := atomicfile.WriteFile(p, []byte("{}\n"), 0o600); err != nil {
		return fmt.Errorf("the Windows engine's daemon.json: %w", err)
	}
	return nil
}

// Unavailable is the engine's status when it cannot run, and why.
type Unavailable string

// Status implements EngineReporter.
func (u Unavailable) Status() EngineStatus {
	return EngineStatus{State: "unavailable", Reason: string(u), Host: EngineHost}
}

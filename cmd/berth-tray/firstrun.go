package main

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// setupOfferedFile, in BERTH_HOME, records that the first-run offer was
// made (whatever the answer), so it is made once.
const setupOfferedFile = "tray-setup-offered"

// offersSetup reports whether the tray offers `berth install` on its
// first start: in Berth.app on macOS, which a drag into Applications
// installs without any step of its own (the .deb and the MSI make the
// login item and the PATH entry themselves).
func offersSetup(goos, berth string) bool {
	return goos == "darwin" && strings.HasSuffix(filepath.ToSlash(filepath.Dir(berth)), ".app/Contents/MacOS")
}

type setupUI interface {
	Confirm(title, text, okLabel string) bool
	Run(ctx context.Context, argv []string) (string, error)
	Notify(title, body, action string, onAction func())
}

// offerSetup asks once whether to start Berth at login and put berth on
// PATH, and runs `berth install` if so.
func offerSetup(ctx context.Context, home, berth string, ui setupUI, log *slog.Logger) {
	marker := filepath.Join(home, setupOfferedFile)
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err := atomicfile.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		log.Warn("recording the first-run offer", "err", err)
		return // asking at every start would be worse than not asking
	}
	if !ui.Confirm("Berth", "Start Berth at login, and put the berth command on your PATH? (berth uninstall undoes it)", "Set up") {
		return
	}
	out, err := ui.Run(ctx, []string{berth, "install"})
	if err != nil {
		log.Warn("berth install", "err", err, "output", out)
		ui.Notify("Berth", "Setting up failed: "+strings.TrimSpace(out), "", nil)
		return
	}
	log.Info("berth install", "output", out)
	ui.Notify("Berth", strings.TrimSpace(out), "", nil)
}

//go:build !darwin || cgo

package native

import (
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/tray"
)

// iconFor picks the icon bytes for goos: a template image (with a regular
// fallback) on macOS, an .ico on Windows, a PNG elsewhere. theme "light"
// asks for the icon drawn for a light bar.
func iconFor(goos string, st api.State, theme string) (regular, template []byte) {
	v := tray.IconOnDark
	if theme == "light" {
		v = tray.IconOnLight
	}
	switch goos {
	case "darwin":
		return tray.IconPNG(st, tray.IconOnLight), tray.IconPNG(st, tray.IconTemplate)
	case "windows":
		return tray.IconICO(tray.IconPNG(st, v)), nil
	}
	return tray.IconPNG(st, v), nil
}

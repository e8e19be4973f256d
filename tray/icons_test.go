package tray

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/hostagent/api"
)

func TestIconsDistinct(t *testing.T) {
	states := []api.State{api.StateStopped, api.StateStarting, api.StateRunning, api.StateDegraded, api.StatePaused, api.StateStopping, api.StateError}
	for _, v := range []IconVariant{IconOnDark, IconOnLight, IconTemplate} {
		seen := map[string]api.State{}
		for _, st := range states {
			b := IconPNG(st, v)
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s/%d: %v", st, v, err)
			}
			if img.Bounds().Dx() != IconSize {
				t.Fatalf("size %v", img.Bounds())
			}
			// Template icons are black with alpha only.
			if v == IconTemplate {
				for y := range IconSize {
					for x := range IconSize {
						r, g, bl, _ := img.At(x, y).RGBA()
						if r|g|bl != 0 {
							t.Fatalf("%s template has colour at %d,%d", st, x, y)
						}
					}
				}
			}
			if prev, dup := seen[string(b)]; dup {
				t.Errorf("variant %d: %s and %s look the same", v, prev, st)
			}
			seen[string(b)] = st
			if dir := os.Getenv("BERTH_TRAY_ICON_DIR"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, string(st)+"-"+[]string{"dark", "light", "template"}[v]+".png"), b, 0o644)
			}
		}
	}
	ico := IconICO(IconPNG(api.StateRunning, IconOnLight))
	if !bytes.Equal(ico[:6], []byte{0, 0, 1, 0, 1, 0}) || !bytes.Equal(ico[22:30], []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("ico header % x", ico[:30])
	}
}

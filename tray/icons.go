package tray

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"

	"github.com/berth-dev/berth/hostagent/api"
)

// The tray icons are drawn here, in code: a ring for a machine that is not
// up, a disk for one that is, and a mark per state (a dot while starting,
// a bar while stopping, a notch when degraded, a cross on error), so the
// states differ by shape as well as by colour. Each comes for light and
// dark menu bars and as a monochrome template image (macOS tints those).

// IconVariant says which background an icon is drawn for.
type IconVariant int

const (
	IconOnDark IconVariant = iota
	IconOnLight
	IconTemplate // black and alpha only
)

// IconSize is the width and height of the icons, in pixels.
const IconSize = 32

var stateColors = map[api.State]color.NRGBA{
	api.StateStopped:  {0x8a, 0x8f, 0x98, 0xff},
	api.StateStarting: {0x2f, 0x80, 0xed, 0xff},
	api.StateRunning:  {0x2e, 0xa0, 0x43, 0xff},
	api.StateDegraded: {0xf2, 0x99, 0x1f, 0xff},
	api.StatePaused:   {0x2e, 0xa0, 0x43, 0xff}, // running's, with a pause sign
	api.StateStopping: {0x2f, 0x80, 0xed, 0xff},
	api.StateError:    {0xe0, 0x3e, 0x2d, 0xff},
}

// shape reports whether point (x, y), in units of the icon's width with
// the centre at 0, is inked for state st; outline is the rim drawn in the
// bar's contrast colour.
func shape(st api.State, x, y float64) (ink, outline bool) {
	r := math.Hypot(x, y)
	const outer, inner, rim = 0.46, 0.30, 0.035
	disk := st == api.StateRunning || st == api.StateDegraded || st == api.StatePaused
	switch {
	case r > outer+rim:
		return false, false
	case r > outer:
		return false, true
	}
	if disk {
		if st == api.StateDegraded && math.Abs(x) < 0.06 && (y > -0.28 && y < 0.08 || y > 0.15 && y < 0.27) {
			return false, false // "!"
		}
		if st == api.StatePaused && math.Abs(y) < 0.2 && math.Abs(math.Abs(x)-0.1) < 0.055 {
			return false, false // "‖"
		}
		return true, false
	}
	if r >= inner {
		return true, false
	}
	if r > inner-rim {
		return false, true
	}
	switch st {
	case api.StateStarting:
		return r < 0.13, false
	case api.StateStopping:
		return math.Abs(y) < 0.07 && math.Abs(x) < 0.2, false
	case api.StateError:
		d := 0.07 * math.Sqrt2
		return (math.Abs(x-y) < d || math.Abs(x+y) < d) && math.Abs(x) < 0.2 && math.Abs(y) < 0.2, false
	}
	return false, false
}

// drawIcon renders the icon with 4×4 supersampling.
func drawIcon(st api.State, v IconVariant) *image.NRGBA { return drawIconAt(st, v, IconSize) }

// drawIconAt renders the icon size pixels wide and high.
func drawIconAt(st api.State, v IconVariant, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	fill, ok := stateColors[st]
	if !ok {
		fill = stateColors[api.StateStopped]
	}
	rimColor := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	switch v {
	case IconOnLight:
		rimColor = color.NRGBA{0x20, 0x20, 0x20, 0xff}
	case IconTemplate:
		fill = color.NRGBA{0, 0, 0, 0xff}
	}
	const ss = 4
	for py := range size {
		for px := range size {
			var nInk, nRim int
			for sy := range ss {
				for sx := range ss {
					x := (float64(px)+(float64(sx)+0.5)/ss)/float64(size) - 0.5
					y := (float64(py)+(float64(sy)+0.5)/ss)/float64(size) - 0.5
					ink, rim := shape(st, x, y)
					if ink {
						nInk++
					} else if rim && v != IconTemplate {
						nRim++
					}
				}
			}
			total := nInk + nRim
			if total == 0 {
				continue
			}
			c := fill
			if nRim > nInk {
				c = rimColor
			}
			c.A = uint8(total * 255 / (ss * ss))
			img.SetNRGBA(px, py, c)
		}
	}
	return img
}

// IconPNG returns the icon for st as a PNG.
func IconPNG(st api.State, v IconVariant) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, drawIcon(st, v)); err != nil {
		panic(err) // encoding an in-memory image does not fail
	}
	return b.Bytes()
}

// AppIconPNG is the application's icon (installers, launchers), size
// pixels wide and high: the running machine's, for a light background.
func AppIconPNG(size int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, drawIconAt(api.StateRunning, IconOnLight, size)); err != nil {
		panic(err) // encoding an in-memory image does not fail
	}
	return b.Bytes()
}

// IconICO wraps a PNG in an .ico file, which Windows wants (PNG entries
// are valid since Windows Vista).
func IconICO(pngData []byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	_ = binary.Write(&b, le, [3]uint16{0, 1, 1}) // reserved, type icon, one image
	b.Write([]byte{IconSize, IconSize, 0, 0})    // width, height, palette, reserved
	_ = binary.Write(&b, le, [2]uint16{1, 32})   // planes, bits per pixel
	_ = binary.Write(&b, le, [2]uint32{uint32(len(pngData)), 22})
	b.Write(pngData)
	return b.Bytes()
}

//go:build darwin && !cgo

package native

import "github.com/berth-dev/berth/tray"

// Available reports whether this build can show a tray: the macOS status
// bar needs cgo.
const Available = false

// Tray cannot show anything in this build.
type Tray struct{}

var _ tray.Renderer = (*Tray)(nil)

// New returns a tray that cannot show itself; Run says why.
func New(string, func(tray.Action)) *Tray { return &Tray{} }

// Run returns at once: there is no status bar without cgo.
func (*Tray) Run(func()) {}

// Render does nothing.
func (*Tray) Render(tray.Menu) {}

// Quit does nothing.
func Quit() {}

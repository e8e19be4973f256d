//go:build !linux && (!darwin || cgo)

package native

// settle has nothing to do: on Windows and macOS systray sets the icon and
// tooltip on the native item at once.
func (*Tray) settle() {}

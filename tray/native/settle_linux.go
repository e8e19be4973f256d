package native

import (
	"time"

	"fyne.io/systray"
	"github.com/godbus/dbus/v5"
)

// settle makes sure the item publishes the icon and tooltip of the last
// menu. fyne.io/systray runs onReady on its own goroutine while it exports
// the item's DBus properties from a snapshot of its icon and tooltip: a
// value set between the snapshot and the export is kept in memory but
// never published, so a panel would show no icon until the state changes.
// settle reads the published tooltip back (on the session bus connection
// systray shares) and sets both again until the item shows them.
func (t *Tray) settle() {
	conn, err := dbus.SessionBus()
	if err != nil || len(conn.Names()) == 0 {
		return
	}
	obj := conn.Object(conn.Names()[0], "/StatusNotifierItem")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var v dbus.Variant
		err := obj.Call("org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierItem", "ToolTip").Store(&v)
		if err != nil {
			continue // not exported yet
		}
		var tt struct {
			V0 string
			V1 []struct {
				V0, V1 int32
				V2     []byte
			}
			V2, V3 string
		}
		t.mu.Lock()
		if dbus.Store([]any{v.Value()}, &tt) == nil && tt.V2 == t.last.Tooltip {
			t.mu.Unlock()
			return
		}
		setIcon(t.goos, t.last.Icon)
		systray.SetTooltip(t.last.Tooltip)
		t.mu.Unlock()
	}
}

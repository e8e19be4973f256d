//go:build !darwin || cgo

// Package native draws the tray's menu model with fyne.io/systray: DBus
// StatusNotifierItem and com.canonical.dbusmenu on Linux, the notification
// area on Windows, the status bar on macOS (which needs cgo).
package native

import (
	"os"
	"slices"
	"sync"

	"fyne.io/systray"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/tray"
)

// Available reports whether this build can show a tray.
const Available = true

// Tray renders menus onto the system tray and sends clicks to do.
type Tray struct {
	goos string
	do   func(tray.Action)

	mu      sync.Mutex
	ready   bool
	pending *tray.Menu
	last    tray.Menu
	items   map[string]*systray.MenuItem
	kids    map[string][]string // parent ID ("" for the top) → child IDs shown, in order
	icon    string
}

var _ tray.Renderer = (*Tray)(nil)

// New returns a tray for goos; do runs a clicked item's action.
func New(goos string, do func(tray.Action)) *Tray {
	return &Tray{goos: goos, do: do, items: map[string]*systray.MenuItem{}, kids: map[string][]string{}}
}

// Run shows the tray and blocks until Quit; it must run on the main
// thread (macOS needs that). onReady runs once the tray exists.
func (t *Tray) Run(onReady func()) {
	systray.Run(func() {
		t.mu.Lock()
		t.ready = true
		m := t.pending
		t.pending = nil
		t.mu.Unlock()
		if m != nil {
			t.Render(*m)
		}
		go t.settle()
		if onReady != nil {
			onReady()
		}
	}, nil)
}

// Quit removes the tray and ends Run.
func Quit() { systray.Quit() }

// Render draws m, changing only what differs from the last menu.
func (t *Tray) Render(m tray.Menu) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ready {
		t.pending = &m
		return
	}
	t.last = m
	if key := string(m.Icon); key != t.icon {
		t.icon = key
		setIcon(t.goos, m.Icon)
	}
	systray.SetTooltip(m.Tooltip)
	t.sync(nil, "", m.Items)
}

// sync makes the children of parent match items. Separators cannot be
// removed through systray, so a changed list is rebuilt from its first
// difference on, and the model keeps separators ahead of changing entries.
func (t *Tray) sync(parent *systray.MenuItem, parentID string, items []tray.Item) {
	shown := t.kids[parentID]
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	if !slices.Equal(ids, shown) {
		first := 0
		for first < len(shown) && first < len(ids) && shown[first] == ids[first] {
			first++
		}
		for _, id := range shown[first:] {
			t.remove(id)
		}
		for _, it := range items[first:] {
			t.add(parent, it)
		}
		t.kids[parentID] = ids
	}
	for _, it := range items {
		if it.Separator {
			continue
		}
		mi := t.items[it.ID]
		if mi == nil {
			continue
		}
		update(mi, it)
		if len(it.Children) > 0 || len(t.kids[it.ID]) > 0 {
			t.sync(mi, it.ID, it.Children)
		}
	}
}

func (t *Tray) add(parent *systray.MenuItem, it tray.Item) {
	if it.Separator {
		if parent == nil {
			systray.AddSeparator()
		} else {
			parent.AddSeparator()
		}
		return
	}
	var mi *systray.MenuItem
	switch {
	case parent == nil && it.Checkable:
		mi = systray.AddMenuItemCheckbox(it.Label, it.Tooltip, it.Checked)
	case parent == nil:
		mi = systray.AddMenuItem(it.Label, it.Tooltip)
	case it.Checkable:
		mi = parent.AddSubMenuItemCheckbox(it.Label, it.Tooltip, it.Checked)
	default:
		mi = parent.AddSubMenuItem(it.Label, it.Tooltip)
	}
	t.items[it.ID] = mi
	id := it.ID
	// One receiver per item, always waiting: systray drops a click that
	// nobody receives at that moment; the action itself runs elsewhere.
	go func() {
		for range mi.ClickedCh {
			t.click(id)
		}
	}()
}

// remove takes an item and its descendants off the menu.
func (t *Tray) remove(id string) {
	for _, kid := range t.kids[id] {
		t.remove(kid)
	}
	delete(t.kids, id)
	if mi := t.items[id]; mi != nil {
		mi.Remove()
		delete(t.items, id)
	}
}

func (t *Tray) click(id string) {
	t.mu.Lock()
	it, ok := tray.Find(t.last.Items, id)
	t.mu.Unlock()
	if ok && !it.Disabled && !it.Hidden && it.Action.Kind != tray.ActNone {
		t.do(it.Action)
	}
}

func update(mi *systray.MenuItem, it tray.Item) {
	mi.SetTitle(it.Label)
	mi.SetTooltip(it.Tooltip)
	if it.Disabled {
		mi.Disable()
	} else {
		mi.Enable()
	}
	if it.Checkable {
		if it.Checked {
			mi.Check()
		} else {
			mi.Uncheck()
		}
	}
	if it.Hidden {
		mi.Hide()
	} else {
		mi.Show()
	}
}

func setIcon(goos string, st api.State) {
	regular, template := iconFor(goos, st, os.Getenv("BERTH_TRAY_THEME"))
	if template != nil {
		systray.SetTemplateIcon(template, regular)
		return
	}
	systray.SetIcon(regular)
}

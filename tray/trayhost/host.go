// Package trayhost is a StatusNotifierItem host for tests: it runs a
// private DBus session bus, owns org.kde.StatusNotifierWatcher, receives a
// tray's registration, reads its whole menu over com.canonical.dbusmenu
// and clicks items, so a tray is tested without a screen.
package trayhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = "/StatusNotifierWatcher"
	menuIface    = "com.canonical.dbusmenu"
	itemIface    = "org.kde.StatusNotifierItem"
	itemPath     = "/StatusNotifierItem"
	menuPath     = "/StatusNotifierItem/menu"
	propsGetCall = "org.freedesktop.DBus.Properties.Get"
)

// Bus is a private session bus; Address goes in DBUS_SESSION_BUS_ADDRESS.
type Bus struct {
	Address string
	cmd     *exec.Cmd
}

// StartBus starts `dbus-daemon --session` on a fresh address.
func StartBus() (*Bus, error) {
	exe, err := exec.LookPath("dbus-daemon")
	if err != nil {
		return nil, fmt.Errorf("dbus-daemon is needed (Debian package dbus-daemon): %w", err)
	}
	cmd := exec.Command(exe, "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("reading the bus address: %w", err)
	}
	return &Bus{Address: strings.TrimSpace(line), cmd: cmd}, nil
}

// Close stops the bus.
func (b *Bus) Close() {
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}

// Host owns the watcher name on a bus and records registrations.
type Host struct {
	conn *dbus.Conn
	mu   sync.Mutex
	reg  []string // unique names of registered items
	cond chan struct{}
}

// watcher is the exported org.kde.StatusNotifierWatcher object.
type watcher struct{ h *Host }

func (w watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.h.mu.Lock()
	w.h.reg = append(w.h.reg, string(sender))
	close(w.h.cond)
	w.h.cond = make(chan struct{})
	w.h.mu.Unlock()
	return nil
}

func (w watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

// NewHost connects to the bus at addr and owns the watcher name.
func NewHost(addr string) (*Host, error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	h := &Host{conn: conn, cond: make(chan struct{})}
	if err := conn.Export(watcher{h}, watcherPath, watcherName); err != nil {
		conn.Close()
		return nil, err
	}
	r, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return nil, fmt.Errorf("owning %s: reply %v, %w", watcherName, r, err)
	}
	return h, nil
}

// Close leaves the bus.
func (h *Host) Close() { h.conn.Close() }

// WaitItem returns the bus name of the first registered item.
func (h *Host) WaitItem(ctx context.Context) (*Item, error) {
	for {
		h.mu.Lock()
		if len(h.reg) > 0 {
			name := h.reg[0]
			h.mu.Unlock()
			return &Item{h: h, name: name}, nil
		}
		c := h.cond
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, errors.New("no tray registered with the StatusNotifierWatcher")
		case <-c:
		}
	}
}

// Item is a registered tray.
type Item struct {
	h    *Host
	name string
}

// Node is one menu entry as dbusmenu describes it.
type Node struct {
	ID       int32
	Label    string
	Type     string // "" or "separator"
	Enabled  bool
	Visible  bool
	Toggle   string // "checkmark" for a checkbox
	Checked  bool
	Children []Node
}

// Tooltip reads the item's tooltip title.
func (it *Item) Tooltip() (string, error) {
	var v dbus.Variant
	err := it.h.conn.Object(it.name, itemPath).Call(propsGetCall, 0, itemIface, "ToolTip").Store(&v)
	if err != nil {
		return "", err
	}
	var tt struct {
		V0 string
		V1 []struct {
			V0, V1 int32
			V2     []byte
		}
		V2, V3 string
	}
	if err := dbus.Store([]any{v.Value()}, &tt); err != nil {
		return "", err
	}
	return tt.V2, nil
}

// Icon reads the item's icon pixmap (ARGB32, network order) of the
// largest size, as width, height and bytes.
func (it *Item) Icon() (int32, int32, []byte, error) {
	var v dbus.Variant
	if err := it.h.conn.Object(it.name, itemPath).Call(propsGetCall, 0, itemIface, "IconPixmap").Store(&v); err != nil {
		return 0, 0, nil, err
	}
	var px []struct {
		V0, V1 int32
		V2     []byte
	}
	if err := dbus.Store([]any{v.Value()}, &px); err != nil {
		return 0, 0, nil, err
	}
	if len(px) == 0 {
		return 0, 0, nil, errors.New("no icon")
	}
	return px[0].V0, px[0].V1, px[0].V2, nil
}

type layout struct {
	V0 int32
	V1 map[string]dbus.Variant
	V2 []dbus.Variant
}

// Menu reads the whole menu. A tray may answer its first GetLayout with
// one level only (fyne does); submenus that came back empty are read again.
func (it *Item) Menu() (Node, error) {
	root, err := it.layout(0)
	if err != nil {
		return Node{}, err
	}
	if err := it.fill(&root); err != nil {
		return Node{}, err
	}
	return root, nil
}

func (it *Item) fill(n *Node) error {
	for i := range n.Children {
		c := &n.Children[i]
		if c.Type == "submenu" && len(c.Children) == 0 {
			full, err := it.layout(c.ID)
			if err != nil {
				return err
			}
			full.Type = "submenu"
			*c = full
		}
		if err := it.fill(c); err != nil {
			return err
		}
	}
	return nil
}

func (it *Item) layout(id int32) (Node, error) {
	var rev uint32
	var l layout
	call := it.h.conn.Object(it.name, menuPath).Call(menuIface+".GetLayout", 0, id, int32(-1), []string{})
	if err := call.Store(&rev, &l); err != nil {
		return Node{}, fmt.Errorf("GetLayout(%d): %w", id, err)
	}
	return toNode(l)
}

func toNode(l layout) (Node, error) {
	n := Node{ID: l.V0, Enabled: true, Visible: true}
	str := func(k string) string { s, _ := l.V1[k].Value().(string); return s }
	n.Label, n.Type, n.Toggle = str("label"), str("type"), str("toggle-type")
	if v, ok := l.V1["enabled"].Value().(bool); ok {
		n.Enabled = v
	}
	if v, ok := l.V1["visible"].Value().(bool); ok {
		n.Visible = v
	}
	if v, ok := l.V1["toggle-state"].Value().(int32); ok {
		n.Checked = v == 1
	}
	if str("children-display") == "submenu" {
		n.Type = "submenu"
	}
	for _, c := range l.V2 {
		var cl layout
		if err := dbus.Store([]any{c.Value()}, &cl); err != nil {
			return Node{}, err
		}
		cn, err := toNode(cl)
		if err != nil {
			return Node{}, err
		}
		n.Children = append(n.Children, cn)
	}
	return n, nil
}

// Click sends a "clicked" event to the entry with id.
func (it *Item) Click(id int32) error {
	return it.h.conn.Object(it.name, menuPath).Call(menuIface+".Event", 0, id, "clicked",
		dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
}

// ClickLast clicks an entry that ends the tray, such as Quit: the tray may
// leave the bus before its reply is sent (a panel does not wait for one),
// so the bus's NoReply is not an error here; the caller checks the tray
// ended.
func (it *Item) ClickLast(id int32) error {
	err := it.Click(id)
	var de dbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.NoReply" {
		return nil
	}
	return err
}

// Find returns the first visible entry whose label starts with prefix,
// searching depth first.
func (n Node) Find(prefix string) (Node, bool) {
	for _, c := range n.Children {
		if c.Visible && c.Label != "" && strings.HasPrefix(c.Label, prefix) {
			return c, true
		}
		if f, ok := c.Find(prefix); ok {
			return f, true
		}
	}
	return Node{}, false
}

// String draws the menu as an indented outline, for test logs.
func (n Node) String() string {
	var b strings.Builder
	var walk func(Node, int)
	walk = func(n Node, depth int) {
		for _, c := range n.Children {
			flags := ""
			if !c.Enabled {
				flags += " [disabled]"
			}
			if !c.Visible {
				flags += " [hidden]"
			}
			if c.Toggle != "" && c.Checked {
				flags += " [x]"
			}
			label := c.Label
			if c.Type == "separator" {
				label = "────"
			}
			fmt.Fprintf(&b, "%s%s%s\n", strings.Repeat("  ", depth), label, flags)
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

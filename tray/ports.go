package tray

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

// PortEntry is one line of the Ports menu: the host listeners of one
// protocol and port (a loopback forward listens on 127.0.0.1 and ::1; the
// user sees one "localhost:8080").
type PortEntry struct {
	Key           string // "8080/tcp", as the agent's pause API names it
	Proto         portfwd.Proto
	HostIP        string // the address shown and opened
	HostPort      int
	ContainerPort int
	Source        portfwd.Source
	Container     string
	Image         string
	State         portfwd.State // active, failed, or api.ForwardPaused
	Reason        string
}

// ForwardKey names the host port of f the way the pause API does.
func ForwardKey(proto portfwd.Proto, port int) string {
	return strconv.Itoa(port) + "/" + string(proto)
}

// ParseForwardKey splits a key made by ForwardKey.
func ParseForwardKey(key string) (portfwd.Proto, int, error) {
	var port int
	var proto string
	if _, err := fmt.Sscanf(key, "%d/%s", &port, &proto); err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("forward key %q: want PORT/PROTO", key)
	}
	return portfwd.Proto(proto), port, nil
}

// PortEntries groups forwards by protocol and host port, in port order, and
// names each by its container and image.
func PortEntries(fs []portfwd.Forward, cs []engine.Container) []PortEntry {
	byKey := map[string]*PortEntry{}
	var keys []string
	for _, f := range fs {
		if f.State == portfwd.StateClosed {
			continue
		}
		k := ForwardKey(f.Proto, f.HostPort)
		e, ok := byKey[k]
		if !ok {
			e = &PortEntry{Key: k, Proto: f.Proto, HostIP: displayHost(f.HostIP), HostPort: f.HostPort,
				ContainerPort: f.GuestPort, Source: f.Source, Container: f.Container, State: f.State}
			if c, ok := findContainer(cs, f); ok {
				e.Image = c.Image
				if c.Name != "" {
					e.Container = c.Name
				}
				for _, p := range c.Ports {
					if p.HostPort == f.HostPort && p.Proto == string(f.Proto) && p.ContainerPort != 0 {
						e.ContainerPort = p.ContainerPort
					}
				}
			}
			byKey[k] = e
			keys = append(keys, k)
			continue
		}
		e.State = worse(e.State, f.State)
		if f.Reason != "" && e.Reason == "" {
			e.Reason = f.Reason
		}
	}
	out := make([]PortEntry, 0, len(keys))
	for _, k := range keys {
		e := *byKey[k]
		if e.State == portfwd.StateFailed && e.Reason == "" {
			e.Reason = reasonOf(fs, e)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b PortEntry) int {
		return cmp.Or(cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.Proto, b.Proto))
	})
	return out
}

func reasonOf(fs []portfwd.Forward, e PortEntry) string {
	for _, f := range fs {
		if f.Proto == e.Proto && f.HostPort == e.HostPort && f.Reason != "" {
			return f.Reason
		}
	}
	return ""
}

// worse keeps the state a user must hear about: failed over paused over active.
func worse(a, b portfwd.State) portfwd.State {
	rank := func(s portfwd.State) int {
		switch s {
		case portfwd.StateFailed:
			return 2
		case api.ForwardPaused:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func findContainer(cs []engine.Container, f portfwd.Forward) (engine.Container, bool) {
	for _, c := range cs {
		if (f.ContainerID != "" && c.ID == f.ContainerID) || (f.ContainerID == "" && f.Container != "" && c.Name == f.Container) {
			return c, true
		}
	}
	return engine.Container{}, false
}

// displayHost turns a listener address into what a user types: every
// address and loopback are "localhost".
func displayHost(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.IsUnspecified() || a.IsLoopback() {
		return "localhost"
	}
	return a.Unmap().String()
}

// Address is host:port, as copied to the clipboard.
func (e PortEntry) Address() string {
	return net.JoinHostPort(e.HostIP, strconv.Itoa(e.HostPort))
}

// URL is what "Open" opens; empty for UDP.
func (e PortEntry) URL() string {
	if e.Proto != portfwd.TCP {
		return ""
	}
	scheme := "http"
	if e.ContainerPort == 443 || e.HostPort == 443 {
		scheme = "https"
	}
	return scheme + "://" + e.Address()
}

// Label is the menu line: "web (nginx) — localhost:8080 → 80/tcp".
func (e PortEntry) Label() string {
	who := e.Container
	switch {
	case e.Source == portfwd.SourceGuest:
		who = "VM"
	case e.Source == portfwd.SourceManual:
		who = "manual"
	case who == "":
		who = "container"
	}
	if e.Image != "" {
		who += " (" + e.Image + ")"
	}
	s := fmt.Sprintf("%s — %s → %d/%s", who, e.Address(), e.ContainerPort, e.Proto)
	switch e.State {
	case api.ForwardPaused:
		s += " (not forwarded)"
	case portfwd.StateFailed:
		s += " (failed)"
	}
	return s
}

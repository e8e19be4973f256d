package portfwd

import (
	"net/netip"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/engine"
)

// Options change how forwards are computed. The machine's config sets them.
type Options struct {
	// LoopbackByDefault makes a port published without a host address
	// (`-p 8080:80`) listen on the host's loopback only, instead of on
	// every address as Docker does.
	LoopbackByDefault bool `json:"loopbackByDefault,omitempty"`
}

// Listener is a socket listening in the guest's own network namespace.
type Listener struct {
	Proto Proto
	IP    string
	Port  int
	// Process is the command name of the socket's owner, when known.
	Process string
}

// dockerProxy is the engine's userland proxy: its sockets are the guest
// side of published ports, which follow the container list, not the
// listener poll (which lags a stopped container by up to a poll).
const dockerProxy = "docker-proxy"

// Inputs are everything the desired forwards derive from.
type Inputs struct {
	Containers []engine.Container // running, with their published ports
	Listeners  []Listener
	Manual     []Spec
}

// Desired returns the forwards that should exist, one per host listener.
//
// The guest side of a published port is the guest's own port: the engine
// listens (or DNATs) on the guest at the published host port. A port
// published on the host's loopback is bound to the guest's loopback too, so
// its target is the guest's loopback alias, which the guest maps to its
// 127.0.0.1. Where two sources want the same host listener, a manual
// forward wins over a published port, which wins over a guest listener.
// Guest listeners are forwarded to the host's loopback only: they were
// never published, so they stay off the local network.
func Desired(in Inputs, o Options) []Forward {
	byKey := map[string]Forward{}
	add := func(f Forward) {
		if _, taken := byKey[f.Key()]; !taken {
			byKey[f.Key()] = f
		}
	}
	for _, sp := range in.Manual {
		for _, ip := range hostIPs(sp.HostIP, true, o) {
			add(Forward{
				Proto: sp.Proto, HostIP: ip, HostPort: sp.HostPort,
				GuestIP: guestconfig.GuestIP, GuestPort: sp.GuestPort,
				Source: SourceManual, Spec: sp.String(),
			})
		}
	}
	published := map[Proto]map[int]bool{TCP: {}, UDP: {}}
	for _, c := range in.Containers {
		for _, p := range c.Ports {
			proto := Proto(p.Proto)
			if p.HostPort == 0 || (proto != TCP && proto != UDP) {
				continue // exposed, not published; or sctp
			}
			published[proto][p.HostPort] = true
			ip, _ := netip.ParseAddr(p.HostIP)
			target := guestTarget(ip)
			for _, h := range hostIPs(ip, false, o) {
				add(Forward{
					Proto: proto, HostIP: h, HostPort: p.HostPort,
					GuestIP: target, GuestPort: p.HostPort,
					Source: SourceDocker, Container: c.Name, ContainerID: c.ID,
				})
			}
		}
	}
	for _, l := range in.Listeners {
		if published[l.Proto][l.Port] || l.Process == dockerProxy || reservedGuestPort(l.Port) || !reachableGuestIP(l.IP) {
			continue // the engine's own proxy for a published port, Berth's, or private to the guest
		}
		for _, h := range hostIPs(netip.IPv6Loopback(), false, o) {
			add(Forward{
				Proto: l.Proto, HostIP: h, HostPort: l.Port,
				GuestIP: guestconfig.GuestIP, GuestPort: l.Port, Source: SourceGuest,
			})
		}
	}
	out := make([]Forward, 0, len(byKey))
	for _, f := range byKey {
		out = append(out, f)
	}
	Sort(out)
	return out
}

// guestTarget is where the agent reaches a port the engine published on
// ip in the guest: the guest's own address; for the guest's IPv4 loopback,
// its loopback alias, which the guest maps to 127.0.0.1; for its IPv6
// loopback, ::1 itself, which the agent reaches through the guest agent
// (no IPv4 rewrite can land on ::1).
func guestTarget(ip netip.Addr) string {
	switch {
	case ip.Is6() && !ip.Is4In6() && ip.IsLoopback():
		return netip.IPv6Loopback().String()
	case ip.Unmap().IsLoopback():
		return guestconfig.GuestLoopbackIP
	default:
		return guestconfig.GuestIP
	}
}

// reachableGuestIP: a socket bound to every address or to the guest's own
// address. Loopback binds (the engine's internals) and container bridges
// stay private to the guest.
func reachableGuestIP(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && (a.IsUnspecified() || a.Unmap().String() == guestconfig.GuestIP)
}

func reservedGuestPort(p int) bool {
	return p == guestconfig.DockerPort || p == guestconfig.AgentPort
}

// hostIPs expands a requested host address into the listeners that serve
// it: loopback means both 127.0.0.1 and ::1 (a browser on "localhost" may
// try either); unspecified means every address, or loopback when so
// configured or for a manual forward that named none.
func hostIPs(ip netip.Addr, manual bool, o Options) []string {
	switch {
	case !ip.IsValid() && manual:
		return []string{"127.0.0.1", "::1"}
	case !ip.IsValid() || ip.IsUnspecified():
		if o.LoopbackByDefault {
			return []string{"127.0.0.1", "::1"}
		}
		return []string{AllAddresses}
	case ip.IsLoopback():
		return []string{"127.0.0.1", "::1"}
	default:
		return []string{ip.String()}
	}
}

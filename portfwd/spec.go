package portfwd

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is a manual forward as a user writes it:
// [HOSTIP:]HOSTPORT[:GUESTPORT][/PROTO], with an IPv6 HOSTIP in brackets
// ("[::1]:8080:80/udp"). GUESTPORT defaults to HOSTPORT, PROTO to tcp, and
// HOSTIP to the host's loopback (both 127.0.0.1 and ::1): a forward typed
// by hand should not reach the local network unless asked to.
type Spec struct {
	// HostIP is the host address to listen on; the zero Addr means loopback.
	HostIP    netip.Addr `json:"hostIP,omitzero"`
	HostPort  int        `json:"hostPort"`
	GuestPort int        `json:"guestPort"`
	Proto     Proto      `json:"proto"`
}

// ParseSpec parses [HOSTIP:]HOSTPORT[:GUESTPORT][/PROTO].
func ParseSpec(s string) (Spec, error) {
	sp, err := parseSpec(s)
	if err != nil {
		return Spec{}, fmt.Errorf("forward %q: %w", s, err)
	}
	return sp, nil
}

func parseSpec(s string) (Spec, error) {
	sp := Spec{Proto: TCP}
	if s == "" {
		return sp, errors.New("empty; want [HOSTIP:]HOSTPORT[:GUESTPORT][/udp]")
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		p := Proto(s[i+1:])
		if p != TCP && p != UDP {
			return sp, fmt.Errorf("unknown protocol %q (tcp or udp)", s[i+1:])
		}
		sp.Proto, s = p, s[:i]
	}
	var ports []string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return sp, errors.New("missing ']' after an IPv6 host address")
		}
		ip, err := netip.ParseAddr(s[1:end])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return sp, fmt.Errorf("host address %q is not an IPv6 address", s[1:end])
		}
		sp.HostIP = ip
		rest := s[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return sp, errors.New("want a host port after the host address")
		}
		ports = strings.Split(rest[1:], ":")
	} else {
		parts := strings.Split(s, ":")
		if len(parts) >= 2 && strings.Contains(parts[0], ".") {
			ip, err := netip.ParseAddr(parts[0])
			if err != nil || !ip.Is4() {
				return sp, fmt.Errorf("host address %q is not an IPv4 address", parts[0])
			}
			sp.HostIP, parts = ip, parts[1:]
		}
		ports = parts
	}
	if len(ports) < 1 || len(ports) > 2 {
		return sp, errors.New("want [HOSTIP:]HOSTPORT[:GUESTPORT][/udp]")
	}
	hp, err := parsePort("host port", ports[0])
	if err != nil {
		return sp, err
	}
	sp.HostPort, sp.GuestPort = hp, hp
	if len(ports) == 2 {
		if sp.GuestPort, err = parsePort("guest port", ports[1]); err != nil {
			return sp, err
		}
	}
	return sp, nil
}

func parsePort(what, s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%s is missing", what)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s %q is not a number", what, s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%s %s is out of range (1-65535)", what, s)
	}
	return n, nil
}

// String is the canonical form, which ParseSpec reads back to the same Spec.
func (s Spec) String() string {
	var b strings.Builder
	switch {
	case s.HostIP.Is6():
		b.WriteString("[" + s.HostIP.String() + "]:")
	case s.HostIP.IsValid():
		b.WriteString(s.HostIP.String() + ":")
	}
	fmt.Fprintf(&b, "%d:%d/%s", s.HostPort, s.GuestPort, s.Proto)
	return b.String()
}

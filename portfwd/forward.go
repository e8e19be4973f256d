// Package portfwd forwards host ports to the guest: it parses forward
// specs, computes the forwards that should exist from the engine's
// containers, the guest's listening sockets and the user's manual forwards
// ([Desired]), keeps host listeners in line with them ([Reconciler]), and
// moves the traffic ([Forwarders]).
//
// The pure parts take their inputs as plain values and reach the world
// through two narrow interfaces ([Opener] for the reconciler, [GuestNet] for
// the forwarders), so they are tested without a VM.
package portfwd

import (
	"cmp"
	"net"
	"slices"
	"strconv"
)

// Proto is a transport protocol.
type Proto string

const (
	TCP Proto = "tcp"
	UDP Proto = "udp"
)

// Source says why a forward exists.
type Source string

const (
	SourceDocker Source = "docker" // a port the engine publishes (-p, -P)
	SourceGuest  Source = "guest"  // a socket listening in the guest (--network host, a VM service)
	SourceManual Source = "manual" // `berth forward add`
)

// State of one forward.
type State string

const (
	StateActive State = "active" // the host listener is open
	StateFailed State = "failed" // could not listen; Reason says why; retried
	StateClosed State = "closed" // removed (only seen in events)
)

// AllAddresses is the HostIP of a forward that listens on every host
// address, IPv4 and IPv6.
const AllAddresses = "0.0.0.0"

// Forward is one host listener and where its traffic goes.
type Forward struct {
	Proto    Proto  `json:"proto"`
	HostIP   string `json:"hostIP"` // AllAddresses, or one address
	HostPort int    `json:"hostPort"`
	// GuestIP and GuestPort are the target on the virtual network.
	GuestIP   string `json:"guestIP"`
	GuestPort int    `json:"guestPort"`
	Source    Source `json:"source"`
	// Container names the container that publishes the port (docker source).
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"containerID,omitempty"`
	// Spec is the manual forward's canonical spec (manual source).
	Spec   string `json:"spec,omitempty"`
	State  State  `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Key identifies the host side: two forwards with the same key cannot both
// listen.
func (f Forward) Key() string {
	return string(f.Proto) + " " + f.HostAddr()
}

// HostAddr is the host address in host:port form.
func (f Forward) HostAddr() string {
	return net.JoinHostPort(f.HostIP, strconv.Itoa(f.HostPort))
}

// GuestAddr is the target in host:port form.
func (f Forward) GuestAddr() string {
	return net.JoinHostPort(f.GuestIP, strconv.Itoa(f.GuestPort))
}

// sameTarget reports whether g sends traffic where f does.
func (f Forward) sameTarget(g Forward) bool {
	return f.GuestIP == g.GuestIP && f.GuestPort == g.GuestPort
}

// Sort orders forwards by port, protocol, then address: the order of
// `berth ports`.
func Sort(fs []Forward) {
	slices.SortFunc(fs, func(a, b Forward) int {
		return cmp.Or(cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.HostIP, b.HostIP))
	})
}

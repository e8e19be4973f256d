// Package vnet runs the machine's private network inside the host agent,
// with gvisor-tap-vsock's user-space stack: the agent joins the VM's network
// device over the unix socket the hypervisor listens on, and the agent reaches guest ports by dialing through the stack.
// Nothing else on the host can reach the guest: there is no host interface,
// no listening TCP port.
package vnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/containers/gvisor-tap-vsock/pkg/types"
	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
	"github.com/sirupsen/logrus"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm"
)

// gatewayMAC is the virtual gateway's MAC address.
const gatewayMAC = "5a:94:ef:e4:0c:dd"

// MTU of the virtual link.
const MTU = guestconfig.LinkMTU

// Network is a running virtual network.
type Network struct {
	vn   *virtualnetwork.VirtualNetwork
	mux  http.Handler // the network's services (port forwarder)
	dial Dialer
	log  *slog.Logger
	wg   sync.WaitGroup
	stop context.CancelFunc
}

// Config is gvisor-tap-vsock's configuration for Berth's network layout.
func Config() *types.Configuration {
	return &types.Configuration{
		MTU:               MTU,
		Subnet:            guestconfig.Subnet,
		GatewayIP:         guestconfig.GatewayIP,
		GatewayMacAddress: gatewayMAC,
		DHCPStaticLeases:  map[string]string{guestconfig.GuestIP: guestconfig.GuestMAC},
		// The host's loopback, as seen from the guest.
		NAT:               map[string]string{guestconfig.HostIP: "127.0.0.1"},
		GatewayVirtualIPs: []string{guestconfig.HostIP},
		DNS: []types.Zone{{
			Name: "docker.internal.",
			Records: []types.Record{
				{Name: "host", IP: net.ParseIP(guestconfig.HostIP)},
				{Name: "gateway", IP: net.ParseIP(guestconfig.GatewayIP)},
			},
		}},
		Protocol: types.QemuProtocol,
	}
}

// Dialer connects to the VM's side of the link: the hypervisor's unix
// socket (UnixSocket), or the guest's port through its driver.
type Dialer func(ctx context.Context) (net.Conn, error)

// UnixSocket dials the unix socket the hypervisor listens on.
func UnixSocket(path string) Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// Start creates the network and joins the VM to it: it connects through
// dial as soon as the VM's side accepts, and again whenever the link drops
// (the VM's side listens again), until ctx ends. The listening side belongs
// to the VM: a VM left running by an agent that died is joined by the next
// agent just the same. link says what the two speak on it.
func Start(ctx context.Context, dial Dialer, link vm.Link, log *slog.Logger) (*Network, error) {
	accept, err := linkAcceptor(link)
	if err != nil {
		return nil, err
	}
	// gvisor-tap-vsock logs through logrus: keep the agent's log all JSON.
	logrus.SetFormatter(&logrus.JSONFormatter{})
	vn, err := virtualnetwork.New(Config())
	if err != nil {
		return nil, fmt.Errorf("creating the virtual network: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &Network{vn: vn, mux: vn.ServicesMux(), dial: dial, log: log, stop: cancel}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.join(ctx, accept)
	}()
	return n, nil
}

// joinRetry is how often the agent tries the hypervisor's socket while it
// is not there yet (QEMU is starting) or refuses (a stale file).
const joinRetry = 20 * time.Millisecond

// acceptor runs one connection to the hypervisor's socket as the VM's
// link to the switch, until it ends.
type acceptor func(ctx context.Context, vn *virtualnetwork.VirtualNetwork, conn net.Conn, log *slog.Logger) error

// acceptStream carries QEMU's length-prefixed frames, on a unix socket or
// an hvsock alike.
func acceptStream(ctx context.Context, vn *virtualnetwork.VirtualNetwork, conn net.Conn, _ *slog.Logger) error {
	return vn.AcceptQemu(ctx, &linkConn{Conn: conn})
}

// linkConn is the VM's link as the switch sees it: a write that fails ends
// the link by closing the connection, which stops the switch's reader, and
// is reported as sent. The switch then drops the link once, after its
// reader has returned. (gvisor-tap-vsock's switch drops a link as soon as a
// write fails, while its reader may still hand on a frame it had buffered:
// that maps the guest's MAC to the dropped link again, and the next frame
// for the guest dereferences a missing connection and panics the agent.
// Seen when the VM powers off while the agent still sends to it.)
type linkConn struct {
	net.Conn
	once sync.Once
}

func (c *linkConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err == nil || errors.Is(err, syscall.ENOBUFS) { // the switch retries a full buffer
		return n, err
	}
	c.once.Do(func() { _ = c.Close() })
	return len(b), nil
}

// join links the VM's network device to the switch, one connection at a
// time, until ctx ends.
func (n *Network) join(ctx context.Context, accept acceptor) {
	for ctx.Err() == nil {
		conn, err := n.dial(ctx)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(joinRetry):
			}
			continue
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		err = accept(ctx, n.vn, conn, n.log)
		stop()
		conn.Close()
		if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
			n.log.Info("virtual network: VM link ended; joining again", "err", err)
		}
	}
}

// DialGuest connects to a TCP port of the guest through the virtual network.
func (n *Network) DialGuest(ctx context.Context, port int) (net.Conn, error) {
	addr := net.JoinHostPort(guestconfig.GuestIP, strconv.Itoa(port))
	c, err := n.vn.DialContextTCP(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dialing guest %s: %w", addr, err)
	}
	return c, nil
}

// Dial is DialGuest in the shape of net.Dialer.DialContext, ignoring the
// address's host: there is only one guest.
func (n *Network) Dial(ctx context.Context, _, addr string) (net.Conn, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", p, err)
	}
	return n.DialGuest(ctx, port)
}

// Close stops the network and leaves the VM's link.
func (n *Network) Close() error {
	n.stop()
	n.wg.Wait()
	return nil
}

// Serves tells a link this network can give the VM's card on this host:
// it joins a link the hypervisor or the guest listens on (the agent does
// not listen).
func Serves(l vm.LinkSpec) bool {
	if l.Listener != vm.PartyHypervisor && l.Listener != vm.PartyGuest {
		return false
	}
	_, err := linkAcceptor(l.Link)
	return err == nil
}

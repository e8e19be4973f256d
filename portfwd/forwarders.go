package portfwd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// GuestNet is what the forwarders need of the virtual network.
type GuestNet interface {
	// DialTCP connects to addr (ip:port) in the guest: on the virtual
	// network, or a loopback address of the guest itself.
	DialTCP(ctx context.Context, addr string) (net.Conn, error)
	// ExposeUDP relays UDP datagrams arriving at the host address local to
	// remote on the virtual network, one session per client address, until
	// the Closer is closed.
	ExposeUDP(local, remote string) (io.Closer, error)
}

// dialTimeout bounds the connection to the guest of one forwarded
// connection; a guest port nobody listens on refuses at once.
const dialTimeout = 10 * time.Second

// Forwarders open forwards on the host: an Opener for the Reconciler.
type Forwarders struct {
	Net GuestNet
	Log *slog.Logger
}

var _ Opener = (*Forwarders)(nil)

// Open starts listening for f and relaying to its guest target.
func (fw *Forwarders) Open(f Forward) (io.Closer, error) {
	p := listenPlan(runtime.GOOS, f)
	switch f.Proto {
	case TCP:
		ln, err := net.Listen(p.network, p.addr)
		if err != nil {
			return nil, explainListenErr(runtime.GOOS, f.HostPort, err)
		}
		if p.loopbackOnly {
			ln = loopbackListener{ln}
		}
		return fw.serveTCP(f, ln), nil
	case UDP:
		if p.loopbackOnly {
			// The relay cannot filter sources; never listen wider than asked.
			return nil, fmt.Errorf("UDP port %d is privileged on this host and cannot be bound to loopback alone", f.HostPort)
		}
		if ip, err := netip.ParseAddr(f.GuestIP); err == nil && ip.IsLoopback() {
			// The guest's own loopback: the virtual network cannot reach
			// it; a datagram stream through the guest can.
			dd, ok := fw.Net.(DatagramDialer)
			if !ok {
				return nil, fmt.Errorf("UDP to the VM's loopback %s cannot be forwarded by this network", f.GuestAddr())
			}
			pc, err := net.ListenPacket(p.network, p.addr)
			if err != nil {
				return nil, explainListenErr(runtime.GOOS, f.HostPort, err)
			}
			target := f.GuestAddr()
			return startUDPRelay(pc, func(ctx context.Context) (net.Conn, error) {
				return dd.DialUDPStream(ctx, target)
			}, udpIdle, fw.logger().With("forward", f.Key(), "target", target)), nil
		}
		c, err := fw.Net.ExposeUDP(p.addr, f.GuestAddr())
		if err != nil {
			return nil, explainListenErr(runtime.GOOS, f.HostPort, err)
		}
		return c, nil
	default:
		return nil, fmt.Errorf("unknown protocol %q", f.Proto)
	}
}

// serveTCP relays each accepted connection to the guest target.
func (fw *Forwarders) serveTCP(f Forward, ln net.Listener) io.Closer {
	target := f.GuestAddr()
	return startRelay(ln, func(ctx context.Context) (net.Conn, error) {
		return fw.Net.DialTCP(ctx, target)
	}, fw.logger().With("forward", f.Key(), "target", target))
}

func (fw *Forwarders) logger() *slog.Logger {
	if fw.Log == nil {
		return slog.Default()
	}
	return fw.Log
}

// plan is how a forward listens on one OS.
type plan struct {
	network, addr string
	// loopbackOnly: the listener covers more than was asked; accept
	// loopback sources only.
	loopbackOnly bool
}

// listenPlan decides how to listen for f on goos. macOS lets any user bind
// a port below 1024 on the wildcard address, never on a specific one: a
// privileged loopback forward there listens on the wildcard of its family
// and drops non-loopback clients.
func listenPlan(goos string, f Forward) plan {
	port := strconv.Itoa(f.HostPort)
	if f.HostIP == AllAddresses {
		return plan{network: string(f.Proto), addr: ":" + port}
	}
	ip, _ := netip.ParseAddr(f.HostIP)
	if goos == "darwin" && f.HostPort < 1024 && ip.IsLoopback() {
		if ip.Is4() {
			return plan{network: string(f.Proto) + "4", addr: "0.0.0.0:" + port, loopbackOnly: true}
		}
		return plan{network: string(f.Proto) + "6", addr: "[::]:" + port, loopbackOnly: true}
	}
	return plan{network: string(f.Proto), addr: f.HostAddr()}
}

// explainListenErr says why a host port could not be listened on: in use
// (in words every OS shares: Windows reports it as WSAEADDRINUSE), or
// privileged and what a user can do about it.
func explainListenErr(goos string, port int, err error) error {
	if addrInUse(err) {
		return fmt.Errorf("host port %d is in use by another program: %w", port, err)
	}
	if port >= 1024 || !errors.Is(err, os.ErrPermission) && !strings.Contains(err.Error(), "permission denied") {
		return err
	}
	switch goos {
	case "linux":
		start := "1024"
		if b, rerr := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); rerr == nil {
			start = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%w: port %d is privileged on this host (net.ipv4.ip_unprivileged_port_start = %s); "+
			"allow it with `sudo sysctl net.ipv4.ip_unprivileged_port_start=%d`, or give berth CAP_NET_BIND_SERVICE "+
			"(`sudo setcap cap_net_bind_service=+ep $(command -v berth)`)", err, port, start, port)
	default:
		return fmt.Errorf("%w: port %d is privileged on this host", err, port)
	}
}

// loopbackListener drops connections that do not come from loopback.
type loopbackListener struct{ net.Listener }

func (l loopbackListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
			return c, nil
		}
		c.Close()
	}
}

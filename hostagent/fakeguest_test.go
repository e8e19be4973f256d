package hostagent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/guest/guestconfig"
)

// The fake guest: what the fake driver's VM process runs when a test asks
// for a guest that answers. It plays the hypervisor's side of the network
// link (it listens on the machine's net socket, where the agent's virtual
// network dials, and speaks QEMU's stream protocol: 4-byte big-endian
// length-prefixed Ethernet frames), and the guest behind it: a user-space
// TCP/IP stack with the guest's static address, serving the real guest
// agent API (agentapi.NewHandler, over a fake backend) and a stand-in for
// dockerd on guestconfig.DockerPort. What it is asked it writes to the
// console log, where the test reads it afterwards.

// fakeGuest says what the fake guest does; "" is no guest at all (the VM
// process only sleeps and nothing answers on the network).
type fakeGuest string

const (
	// guestRunning reports a running engine, and the stand-in answers.
	guestRunning fakeGuest = "running"
	// guestEngineStarting never gets past an engine that is starting.
	guestEngineStarting fakeGuest = "engine-starting"
	// guestEngineFailed reports an engine that cannot start.
	guestEngineFailed fakeGuest = "engine-failed"
	// guestNoDockerd reports a running engine, but nothing listens on the
	// engine's port.
	guestNoDockerd fakeGuest = "no-dockerd"
)

// The fake VM process's environment, set by the fake driver's Start.
const (
	envFakeGuest   = "BERTH_TEST_FAKE_GUEST"
	envFakeNetSock = "BERTH_TEST_FAKE_NET_SOCK"
	envFakeConsole = "BERTH_TEST_FAKE_CONSOLE"
)

// fakeGuestLifetime bounds the fake VM process, whatever its parent does.
const fakeGuestLifetime = 60 * time.Second

// What the stand-in engine says it is.
const (
	standinVersion    = "29.0.0-standin"
	standinAPIVersion = "1.52"
)

// Lines the fake guest writes to the console log.
const (
	consoleShutdown = "fake guest: shutdown requested"
	consoleEngine   = "stand-in engine: "
)

// fakeGuestEngineFailure is the reason the guestEngineFailed guest gives.
const fakeGuestEngineFailure = "dockerd: the stand-in refuses to start"

// runFakeGuest is the fake VM process with a guest: it serves until the
// agent's side of the link closes, the guest is asked to shut down, or
// fakeGuestLifetime passes.
func runFakeGuest(mode fakeGuest, netSock, console string) error {
	ctx, cancel := context.WithTimeout(context.Background(), fakeGuestLifetime)
	defer cancel()
	cons, err := os.OpenFile(console, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer cons.Close()
	var consMu sync.Mutex
	logf := func(format string, args ...any) {
		consMu.Lock()
		defer consMu.Unlock()
		fmt.Fprintf(cons, format+"\n", args...)
	}

	// The hypervisor's side of the link: one connection, from the agent.
	ln, err := net.Listen("unix", netSock)
	if err != nil {
		return err
	}
	stopListen := context.AfterFunc(ctx, func() { ln.Close() })
	conn, err := ln.Accept()
	stopListen()
	ln.Close() // and the socket file with it
	if err != nil {
		return fmt.Errorf("waiting for the agent's network: %w", err)
	}
	defer conn.Close()

	s, ep, err := guestStack()
	if err != nil {
		return err
	}
	defer s.Destroy()
	linkDone := make(chan error, 2)
	go func() { linkDone <- readFrames(conn, ep) }()
	go func() { linkDone <- writeFrames(ctx, conn, ep) }()

	shutdown := make(chan struct{})
	var once sync.Once
	backend := &fakeGuestBackend{mode: mode, shutdown: func() {
		once.Do(func() {
			logf("%s", consoleShutdown)
			close(shutdown)
		})
	}}
	agentSrv := &http.Server{Handler: agentapi.NewHandler(backend), ReadHeaderTimeout: 5 * time.Second}
	if err := serveGuestPort(s, guestconfig.AgentPort, agentSrv); err != nil {
		return err
	}
	var engineSrv *http.Server
	if mode != guestNoDockerd && mode != guestEngineFailed {
		engineSrv = &http.Server{Handler: standinEngine(logf), ReadHeaderTimeout: 5 * time.Second}
		if err := serveGuestPort(s, guestconfig.DockerPort, engineSrv); err != nil {
			return err
		}
	}

	select {
	case <-shutdown:
		// Power off once the shutdown's answer has reached the agent: the
		// link closes with the process, and frames still in this stack
		// would go with it.
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		_ = agentSrv.Shutdown(sctx)
		scancel()
		waitAcked(s, 2*time.Second)
	case err := <-linkDone:
		logf("fake guest: the link ended: %v", err)
	case <-ctx.Done():
		logf("fake guest: lifetime over")
	}
	if engineSrv != nil {
		_ = engineSrv.Close()
	}
	_ = agentSrv.Close()
	return nil
}

// guestStack is the guest's network: IPv4 and ARP on one Ethernet card
// with the guest's static address, MAC and MTU, its frames on ep.
func guestStack() (*stack.Stack, *channel.Endpoint, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	mac, err := net.ParseMAC(guestconfig.GuestMAC)
	if err != nil {
		return nil, nil, err
	}
	// The channel carries whole frames: the MTU is the IP packet's plus the
	// Ethernet header the wrapper adds.
	ep := channel.New(512, guestconfig.LinkMTU+header.EthernetMinimumSize, tcpip.LinkAddress(mac))
	const nic = 1
	if err := s.CreateNIC(nic, ethernet.New(ep)); err != nil {
		return nil, nil, fmt.Errorf("guest NIC: %s", err)
	}
	addr := netip.MustParseAddr(guestconfig.GuestIP)
	prefix := netip.MustParsePrefix(guestconfig.Subnet)
	if err := s.AddProtocolAddress(nic, tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr.As4()), PrefixLen: prefix.Bits()},
	}, stack.AddressProperties{}); err != nil {
		return nil, nil, fmt.Errorf("guest address: %s", err)
	}
	subnet, err := tcpip.NewSubnet(tcpip.AddrFrom4(prefix.Masked().Addr().As4()), tcpip.MaskFromBytes(net.CIDRMask(prefix.Bits(), 32)))
	if err != nil {
		return nil, nil, err
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: subnet, NIC: nic},
		{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(netip.MustParseAddr(guestconfig.GatewayIP).As4()), NIC: nic},
	})
	return s, ep, nil
}

// waitAcked waits, up to timeout, until the agent has acknowledged every
// connection the guest closed: none still has its FIN, and so the data
// before it, unacknowledged.
func waitAcked(s *stack.Stack, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		pending := false
		for _, e := range s.RegisteredEndpoints() {
			if te, ok := e.(interface{ State() uint32 }); ok {
				switch tcp.EndpointState(te.State()) {
				case tcp.StateFinWait1, tcp.StateClosing, tcp.StateLastAck:
					pending = true
				}
			}
		}
		if !pending {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readFrames hands each frame the agent sends to the guest's card.
func readFrames(conn net.Conn, ep *channel.Endpoint) error {
	var size [4]byte
	for {
		if _, err := io.ReadFull(conn, size[:]); err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(size[:])
		if n > guestconfig.LinkMTU+header.EthernetMinimumSize {
			return fmt.Errorf("a frame of %d bytes", n)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(conn, frame); err != nil {
			return err
		}
		pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
		ep.InjectInbound(0, pkt) // the Ethernet wrapper reads the type
		pkt.DecRef()
	}
}

// writeFrames sends each frame of the guest's card to the agent.
func writeFrames(ctx context.Context, conn net.Conn, ep *channel.Endpoint) error {
	for {
		pkt := ep.ReadContext(ctx)
		if pkt == nil {
			return ctx.Err()
		}
		out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+pkt.Size()), uint32(pkt.Size()))
		for _, b := range pkt.AsSlices() {
			out = append(out, b...)
		}
		pkt.DecRef()
		if _, err := conn.Write(out); err != nil {
			return err
		}
	}
}

// serveGuestPort serves srv on the guest's TCP port.
func serveGuestPort(s *stack.Stack, port int, srv *http.Server) error {
	addr := netip.MustParseAddr(guestconfig.GuestIP)
	ln, err := gonet.ListenTCP(s, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(addr.As4()), Port: uint16(port)}, ipv4.ProtocolNumber)
	if err != nil {
		return fmt.Errorf("guest port %d: %w", port, err)
	}
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// fakeGuestBoot is the fake guest's boot timeline.
var fakeGuestBoot = []agentapi.BootMark{{Name: "kernel", At: 0.5}, {Name: "dockerd ready", At: 1.5}}

// The fake guest's data disk, as its health reports it.
const (
	fakeDiskBytes = 64 << 30
	fakeDiskFree  = 60 << 30
)

// fakeGuestBackend is the guest agent API's backend in the fake guest.
type fakeGuestBackend struct {
	mode     fakeGuest
	shutdown func()
}

func (b *fakeGuestBackend) Health(context.Context) agentapi.Health {
	now := time.Now()
	h := agentapi.Health{
		Engine:        agentapi.Engine{State: agentapi.EngineRunning, ReadyAt: &now},
		Containerd:    agentapi.ProcessStatus{State: "running", PID: 10},
		Dockerd:       agentapi.ProcessStatus{State: "running", PID: 11},
		DataDisk:      agentapi.DataDisk{Device: "/dev/vdb", State: agentapi.DiskMounted, SizeBytes: fakeDiskBytes, FreeBytes: fakeDiskFree},
		Time:          now,
		KernelRelease: "fake",
		Boot:          fakeGuestBoot,
	}
	switch b.mode {
	case guestEngineStarting:
		h.Engine = agentapi.Engine{State: agentapi.EngineStarting}
		h.Dockerd = agentapi.ProcessStatus{State: "starting", PID: 11}
	case guestEngineFailed:
		h.Engine = agentapi.Engine{State: agentapi.EngineFailed, Reason: fakeGuestEngineFailure}
		h.Dockerd = agentapi.ProcessStatus{State: "stopped", LastExit: "exit status 1"}
	}
	return h
}

func (b *fakeGuestBackend) Shutdown(string) { b.shutdown() }

// Listeners keeps the handler off this host's /proc/net: the fake guest
// listens on nothing a forward would take.
func (b *fakeGuestBackend) Listeners(context.Context) ([]agentapi.Listener, error) {
	return []agentapi.Listener{}, nil
}

// apiVersionPrefix is a docker API path's version, as in /v1.52/version.
var apiVersionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

// standinEngine is a stand-in for dockerd's API: it answers what the host
// agent asks (ping, version, events, the container list) in dockerd's
// shapes, and logs each request it is asked.
func standinEngine(logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logf("%s%s %s", consoleEngine, r.Method, r.URL.Path)
		path := r.URL.Path
		if loc := apiVersionPrefix.FindStringIndex(path); loc != nil {
			path = path[loc[1]-1:]
		}
		h := w.Header()
		h.Set("Api-Version", standinAPIVersion)
		h.Set("Docker-Experimental", "false")
		h.Set("Ostype", "linux")
		h.Set("Server", "Docker/"+standinVersion+" (linux)")
		switch {
		case path == "/_ping" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			h.Set("Builder-Version", "2")
			h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
			h.Set("Pragma", "no-cache")
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Content-Length", "2")
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = io.WriteString(w, "OK")
			}
		case path == "/version" && r.Method == http.MethodGet:
			standinJSON(w, http.StatusOK, map[string]any{
				"Platform":      map[string]string{"Name": "Docker Engine - Community"},
				"Version":       standinVersion,
				"ApiVersion":    standinAPIVersion,
				"MinAPIVersion": "1.24",
				"GitCommit":     "standin",
				"GoVersion":     runtime.Version(),
				"Os":            "linux",
				"Arch":          runtime.GOARCH,
				"KernelVersion": "fake",
				"BuildTime":     "2026-01-01T00:00:00.000000000+00:00",
			})
		case path == "/containers/json" && r.Method == http.MethodGet:
			standinJSON(w, http.StatusOK, []any{})
		case path == "/events" && r.Method == http.MethodGet:
			// dockerd sends its headers at once, then one JSON object per
			// event, for as long as the client stays.
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			<-r.Context().Done()
		default:
			standinJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
		}
	})
}

func standinJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"message":`+strconv.Quote(err.Error())+`}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

var errNoFakeGuest = errors.New("the fake VM process was started without a guest's environment")

// fakeGuestFromEnv runs the fake guest the fake driver asked for, if any;
// ok is false when the VM process is to have no guest.
func fakeGuestFromEnv() (ok bool, err error) {
	mode := fakeGuest(os.Getenv(envFakeGuest))
	if mode == "" {
		return false, nil
	}
	sock, console := os.Getenv(envFakeNetSock), os.Getenv(envFakeConsole)
	if sock == "" || console == "" {
		return true, errNoFakeGuest
	}
	return true, runFakeGuest(mode, sock, console)
}

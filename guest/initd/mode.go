package initd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
)

// Options are the init's command line. In the VM the kernel starts /init
// with whatever words of its command line it did not take; they are no
// flags of ours and are ignored. `--wsl` selects the WSL mode, where the
// host runs the init itself (through wsl.exe) and every flag counts.
type Options struct {
	// WSL: Microsoft's /init is PID 1 and the kernel is Microsoft's; the
	// init takes a PID and mount namespace of its own, formats nothing and
	// loads no module.
	WSL bool
	// Config is where the machine config is read from in WSL mode: a file,
	// or "-" for one JSON document on standard input (no initramfs carries
	// it there).
	Config string
	// Listen is how the guest agent API and the engine's API are offered
	// in WSL mode.
	Listen Listen
}

// Listen chooses the WSL mode's transport.
type Listen string

const (
	// ListenAuto is vsock where the kernel has it, else TCP on loopback.
	ListenAuto Listen = "auto"
	// ListenVsock: AF_VSOCK ports guestconfig.AgentPort and DockerPort,
	// which the Windows host dials as hvsock services of the WSL VM.
	ListenVsock Listen = "vsock"
	// ListenTCP: 127.0.0.1 ports AgentPort and DockerPort. The fallback for
	// a kernel without vsock: WSL forwards the distro's loopback to the
	// Windows host's, where every local user can reach it.
	ListenTCP Listen = "tcp"
)

// ParseArgs reads the init's arguments (without the program name).
func ParseArgs(args []string) (Options, error) {
	if !slices.Contains(args, "--wsl") && !slices.Contains(args, "-wsl") {
		return Options{}, nil
	}
	fs := flag.NewFlagSet("berth-init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := Options{}
	fs.BoolVar(&o.WSL, "wsl", false, "run as a process in a WSL2 distro")
	fs.StringVar(&o.Config, "config", "-", "machine config file, - for standard input")
	listen := fs.String("listen", string(ListenAuto), "transport: auto, vsock or tcp")
	if err := fs.Parse(args); err != nil {
		return Options{}, fmt.Errorf("berth-init: %w", err)
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("berth-init: unexpected argument %q", fs.Arg(0))
	}
	o.Listen = Listen(*listen)
	switch o.Listen {
	case ListenAuto, ListenVsock, ListenTCP:
	default:
		return Options{}, fmt.Errorf("berth-init: -listen %q: want auto, vsock or tcp", *listen)
	}
	if o.Config == "" {
		return Options{}, errors.New("berth-init: -config must name a file, or - for standard input")
	}
	return o, nil
}

// Transport is where the WSL mode's listeners are.
type Transport struct {
	Network string // "vsock" or "tcp"
	// Fallback says why vsock is not used, when it is not.
	Fallback string
}

// ChooseTransport is the listener choice: vsock when asked for or
// available, TCP on loopback when asked for, or when auto finds no vsock
// (haveVsock: the kernel makes AF_VSOCK sockets).
func ChooseTransport(l Listen, haveVsock bool) (Transport, error) {
	switch l {
	case ListenVsock:
		if !haveVsock {
			return Transport{}, errors.New("-listen vsock: the kernel has no AF_VSOCK")
		}
		return Transport{Network: "vsock"}, nil
	case ListenTCP:
		return Transport{Network: "tcp", Fallback: "-listen tcp"}, nil
	case ListenAuto, "":
		if haveVsock {
			return Transport{Network: "vsock"}, nil
		}
		return Transport{Network: "tcp", Fallback: "the kernel has no AF_VSOCK"}, nil
	}
	return Transport{}, fmt.Errorf("unknown transport %q", l)
}

// Addr is the listener's address for port: "vsock:PORT" (any CID) or a
// loopback TCP address.
func (t Transport) Addr(port int) string {
	if t.Network == "vsock" {
		return "vsock:" + strconv.Itoa(port)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

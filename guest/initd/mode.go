package initd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// Options are the init's command line. In the VM the kernel starts /init
// with whatever words of its command line it did not take; they are no
// flags of ours and are ignored. `--wsl` selects the WSL mode, where the
// host runs the init itself (through wsl.exe) and every flag counts.
type Options struct {
	// WSL: Microsoft's /init is PID 1 and the kernel is Microsoft's; the
	// init takes a PID, mount and network namespace of its own, formats
	// nothing and loads no module.
	WSL bool
	// Config is where the machine config is read from in WSL mode: a file,
	// or "-" for one JSON document on standard input (no initramfs carries
	// it there).
	Config string
	// Link is where the WSL mode listens for the host agent's switch.
	Link Link
}

// Link is the listener the WSL mode's network link arrives on:
// "vsock:PORT" (an AF_VSOCK port, which the Windows host dials as a
// Hyper-V socket of the WSL VM; every distro of a user shares that one
// VM, so each machine has its own port), "vsock" (the port
// guestconfig.LinkVsockPort), or "unix:PATH", a unix socket in the
// distro's file system that stands in for hvsock where no vsock peer can
// dial (a Linux kernel without vsock_loopback: the end-to-end test).
type Link string

// LinkVsock is the default: what the Windows host dials.
const LinkVsock Link = "vsock"

// ParseLink checks a --link value.
func ParseLink(s string) (Link, error) {
	if s == string(LinkVsock) {
		return LinkVsock, nil
	}
	if p, ok := strings.CutPrefix(s, "vsock:"); ok {
		n, err := strconv.ParseUint(p, 10, 32)
		// VMADDR_PORT_ANY (2^32-1) is no port one can be dialed on.
		if err != nil || n == 0 || n == 1<<32-1 || strconv.FormatUint(n, 10) != p {
			return "", fmt.Errorf("--link %q: the vsock port must be a decimal number from 1 to %d", s, uint32(1<<32-2))
		}
		return Link(s), nil
	}
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return "", fmt.Errorf("--link %q: the unix socket must be a clean absolute path", s)
		}
		// sun_path holds 108 bytes with the terminating NUL.
		if len(p) > 107 {
			return "", fmt.Errorf("--link %q: the unix socket's path is longer than 107 bytes", s)
		}
		return Link(s), nil
	}
	return "", fmt.Errorf("--link %q: want vsock, vsock:PORT or unix:PATH", s)
}

// VsockPort is the AF_VSOCK port of a vsock link, 0 for a unix one.
func (l Link) VsockPort() uint32 {
	if l == LinkVsock {
		return guestconfig.LinkVsockPort
	}
	p, ok := strings.CutPrefix(string(l), "vsock:")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseUint(p, 10, 32) // checked by ParseLink
	return uint32(n)
}

// UnixPath is the socket's path of a "unix:PATH" link, "" for vsock.
func (l Link) UnixPath() string {
	p, _ := strings.CutPrefix(string(l), "unix:")
	if p == string(l) {
		return ""
	}
	return p
}

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
	link := fs.String("link", string(LinkVsock), "the network link's listener: vsock, vsock:PORT or unix:PATH")
	if err := fs.Parse(args); err != nil {
		return Options{}, fmt.Errorf("berth-init: %w", err)
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("berth-init: unexpected argument %q", fs.Arg(0))
	}
	l, err := ParseLink(*link)
	if err != nil {
		return Options{}, fmt.Errorf("berth-init: %w", err)
	}
	o.Link = l
	if o.Config == "" {
		return Options{}, errors.New("berth-init: -config must name a file, or - for standard input")
	}
	return o, nil
}

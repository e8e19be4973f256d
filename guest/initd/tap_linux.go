package initd

import (
	"fmt"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openTap creates the tap device name in the calling process's network
// namespace (IFF_TAP|IFF_NO_PI: one Ethernet frame per read and write, no
// header before it) with the given MAC address, and returns it
// non-blocking, on the runtime's poller. The device lives as long as the
// file is open; the address, MTU and routes are the network setup's.
func openTap(name, mac string) (*os.File, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	if len(hw) != 6 {
		return nil, fmt.Errorf("tap %s: MAC address %q is not an Ethernet one", name, mac)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: opening /dev/net/tun: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: TUNSETIFF: %w", name, err)
	}
	// struct ifreq with ifr_hwaddr: the name, then a struct sockaddr.
	var req struct {
		name   [unix.IFNAMSIZ]byte
		family uint16
		data   [14]byte
		_      [8]byte
	}
	copy(req.name[:], name)
	req.family = unix.ARPHRD_ETHER
	copy(req.data[:], hw)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCSIFHWADDR, uintptr(unsafe.Pointer(&req))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: setting MAC address %s: %w", name, mac, e)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

package wsl2

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// LinkVsockPort is the AF_VSOCK port the guest init listens on in a WSL 2
// distro for the network link (the switch's length-prefixed frames, as on
// LinkStream); the agent reaches it as the Hyper-V socket service
// VsockServiceID(LinkVsockPort) of the WSL VM. Its one home is the
// guest's side of the contract.
const LinkVsockPort = guestconfig.LinkVsockPort

// hvsockDialer connects to an AF_VSOCK port of a Hyper-V VM: go-winio on
// Windows, a test's fake elsewhere.
type hvsockDialer interface {
	DialHvsock(ctx context.Context, vmID string, port uint32) (net.Conn, error)
}

// wslinfoPath is the symlink WSL's init makes to itself in every distro
// (INIT_ANY_SYMLINK("/bin/" WSLINFO_NAME, "/init") in src/linux/init/config.cpp).
const wslinfoPath = "/bin/wslinfo"

// vmIDNeeds says how to get the sure way to the VM's id: `wslinfo
// --vm-id` came with WSL 2.5.10; before it the id is probed for (see
// DialLink).
const vmIDNeeds = "`wslinfo --vm-id`, which tells the WSL VM's id, needs WSL 2.5.10 or later: run `" + updateCmd + "`"

var guidRE = regexp.MustCompile(`^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$`)

// ParseVMID reads what `wslinfo --vm-id` printed: the VM's GUID (with or
// without braces), answered in lower case without them. A WSL 1 distro
// prints "wsl1".
func ParseVMID(out string) (string, error) {
	s := strings.TrimSpace(Decode([]byte(out)))
	if s == "wsl1" {
		return "", fmt.Errorf("wslinfo --vm-id: the distro runs under WSL 1, which has no VM (Berth needs WSL 2)")
	}
	m := guidRE.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("wslinfo --vm-id: %q is not a VM id (a GUID)", summary(s))
	}
	return strings.ToLower(m[1]), nil
}

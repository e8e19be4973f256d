package wsl2

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/internal/hvsock"
)

// LinkPort is the AF_VSOCK port the guest init of the distro listens on
// for the network link (the switch's length-prefixed frames, as on
// LinkStream); the agent reaches it as the Hyper-V socket service
// VsockServiceID(port) of the WSL VM. Every distro of a user runs in that
// one VM, whose vsock ports they share, so each machine has its own: a
// hash of the distro's name in [2^30, 2^31), clear of the low ports
// (guestconfig.LinkVsockPort among them) and of the ones WSL's own
// services take. Two names that hash alike cannot both start (the second
// init cannot listen, and says so); a link to the wrong one is refused by
// its header's nonce.
func LinkPort(distro string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(distro))) // WSL's names ignore case
	return linkPortBase | h.Sum32()&(linkPortBase-1)
}

const linkPortBase = 1 << 30

// linkArg is the init's --link value for the distro.
func linkArg(distro string) string { return fmt.Sprintf("vsock:%d", LinkPort(distro)) }

// hvsockDialer connects to an AF_VSOCK port of the WSL VM (package
// hvsock); WSL lets the user who started it connect to its VM's sockets.
type hvsockDialer = hvsock.Dialer

func newHvsockDialer() hvsockDialer { return hvsock.New() }

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

package initd

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// FirewallRules renders the iptables-restore input that lets only the host
// agent (allowFrom, arriving on eth0) reach dockerd's TCP port, the
// agent's and the shares': containers (on docker0 and other bridges) and anything else
// are dropped. The rules live in their own chain, jumped to first from
// INPUT; dockerd leaves INPUT's rules alone.
func FirewallRules(allowFrom string) string {
	var b strings.Builder
	b.WriteString("*filter\n:BERTH-INPUT - [0:0]\n")
	for _, port := range []int{guestconfig.DockerPort, guestconfig.AgentPort, guestconfig.SharePort} {
		fmt.Fprintf(&b, "-A BERTH-INPUT -i eth0 -s %s/32 -p tcp --dport %d -j RETURN\n", allowFrom, port)
		fmt.Fprintf(&b, "-A BERTH-INPUT -p tcp --dport %d -j DROP\n", port)
	}
	b.WriteString("-I INPUT 1 -j BERTH-INPUT\nCOMMIT\n")
	// The agent reaches the guest's loopback through the loopback alias
	// (port forwards of ports bound to 127.0.0.1); eth0 must have
	// route_localnet set for the kernel to accept the rewritten packets.
	fmt.Fprintf(&b, "*nat\n-I PREROUTING 1 -i eth0 -s %s/32 -d %s/32 -j DNAT --to-destination 127.0.0.1\nCOMMIT\n",
		allowFrom, guestconfig.GuestLoopbackIP)
	return b.String()
}

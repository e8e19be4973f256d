// Package vnettest helps tests that play the guest on a link of the
// agent's virtual network.
package vnettest

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/arp"
)

// AskGateway plays the guest on card (one frame per Read and Write): it
// asks who has the gateway's address until the agent's switch answers,
// within timeout (the agent may still be joining).
func AskGateway(t testing.TB, card net.Conn, timeout time.Duration) {
	t.Helper()
	mac, err := net.ParseMAC(guestconfig.GuestMAC)
	if err != nil {
		t.Fatal(err)
	}
	gw := netip.MustParseAddr(guestconfig.GatewayIP)
	req, err := arp.Request(mac, netip.MustParseAddr(guestconfig.GuestIP), gw)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<17)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := card.Write(req); err != nil {
			t.Fatal(err)
		}
		_ = card.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, err := card.Read(buf)
			if err != nil {
				break
			}
			if arp.IsReply(buf[:n], mac, gw) {
				return
			}
		}
	}
	t.Fatal("the agent's switch never answered the guest's ARP request for the gateway")
}

// PrivateDir is a temporary directory closed to group and others, as a
// machine directory is.
func PrivateDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

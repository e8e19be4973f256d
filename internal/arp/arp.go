// Package arp builds and reads the one kind of ARP frame Berth needs: a
// guest asking who has an IPv4 address, and the answer to it.
package arp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Request is an Ethernet frame asking, from mac and ip, who has target.
func Request(mac net.HardwareAddr, ip, target netip.Addr) ([]byte, error) {
	if len(mac) != 6 || !ip.Is4() || !target.Is4() {
		return nil, fmt.Errorf("ARP request from %s %s for %s: want a MAC-48 and IPv4 addresses", mac, ip, target)
	}
	f := make([]byte, 0, 42)
	f = append(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // broadcast
	f = append(f, mac...)
	f = append(f, 0x08, 0x06)             // ARP
	f = append(f, 0, 1, 0x08, 0x00, 6, 4) // Ethernet, IPv4
	f = append(f, 0, 1)                   // request
	f = append(f, mac...)
	f = append(f, ip.AsSlice()...)
	f = append(f, 0, 0, 0, 0, 0, 0)
	f = append(f, target.AsSlice()...)
	return f, nil
}

// IsReply tells an ARP reply sent to mac saying that ip is at some MAC.
func IsReply(f []byte, mac net.HardwareAddr, ip netip.Addr) bool {
	return len(f) >= 42 && bytes.Equal(f[0:6], mac) && binary.BigEndian.Uint16(f[12:]) == 0x0806 &&
		binary.BigEndian.Uint16(f[20:]) == 2 && ip.Is4() && bytes.Equal(f[28:32], ip.AsSlice())
}

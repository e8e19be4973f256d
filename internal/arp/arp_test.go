package arp

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
)

func TestRequest(t *testing.T) {
	mac, _ := net.ParseMAC("5a:94:ef:e4:0c:ee")
	f, err := Request(mac, netip.MustParseAddr("192.168.127.2"), netip.MustParseAddr("192.168.127.1"))
	if err != nil {
		t.Fatal(err)
	}
	want := "ffffffffffff5a94efe40cee0806" + "0001080006040001" + "5a94efe40cee" + "c0a87f02" + "000000000000" + "c0a87f01"
	if got := fmt.Sprintf("%x", f); got != want {
		t.Errorf("frame\n%s, want\n%s", got, want)
	}
	if _, err := Request(mac, netip.MustParseAddr("fd00::2"), netip.MustParseAddr("192.168.127.1")); err == nil {
		t.Error("an IPv6 sender taken")
	}
}

// A reply is the request turned around: to the asker, opcode 2, the
// answered address as sender.
func TestIsReply(t *testing.T) {
	guest, _ := net.ParseMAC("5a:94:ef:e4:0c:ee")
	gw, _ := net.ParseMAC("5a:94:ef:e4:0c:01")
	gwIP, guestIP := netip.MustParseAddr("192.168.127.1"), netip.MustParseAddr("192.168.127.2")
	reply, _ := Request(gw, gwIP, guestIP)
	copy(reply[0:6], guest)
	reply[21] = 2
	if !IsReply(reply, guest, gwIP) {
		t.Error("a reply to the guest for the gateway not recognised")
	}
	if IsReply(reply, gw, gwIP) || IsReply(reply, guest, guestIP) || IsReply(reply[:41], guest, gwIP) {
		t.Error("a reply to another MAC, for another address, or cut short was taken")
	}
	req, _ := Request(guest, guestIP, gwIP)
	if IsReply(req, guest, gwIP) {
		t.Error("a request taken for a reply")
	}
}

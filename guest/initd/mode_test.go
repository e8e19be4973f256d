package initd

import (
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Options
		bad  bool
	}{
		// The VM's kernel passes the words of its command line it does not know.
		{args: nil, want: Options{}},
		{args: []string{"quiet", "berth.debug"}, want: Options{}},
		{args: []string{"--wsl"}, want: Options{WSL: true, Config: "-", Listen: ListenAuto}},
		{args: []string{"--wsl", "--config", "/run/c.json", "--listen", "tcp"}, want: Options{WSL: true, Config: "/run/c.json", Listen: ListenTCP}},
		{args: []string{"--wsl", "--listen=vsock"}, want: Options{WSL: true, Config: "-", Listen: ListenVsock}},
		{args: []string{"--wsl", "--listen", "udp"}, bad: true},
		{args: []string{"--wsl", "--bogus"}, bad: true},
		{args: []string{"--wsl", "extra"}, bad: true},
		{args: []string{"--wsl", "--config", ""}, bad: true},
	} {
		got, err := ParseArgs(tc.args)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want error %v", tc.args, err, tc.bad)
			continue
		}
		if !tc.bad && got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

func TestChooseTransport(t *testing.T) {
	for _, tc := range []struct {
		listen    Listen
		haveVsock bool
		network   string
		fallback  bool
		bad       bool
	}{
		{ListenAuto, true, "vsock", false, false},
		{ListenAuto, false, "tcp", true, false},
		{ListenVsock, true, "vsock", false, false},
		{ListenVsock, false, "", false, true},
		{ListenTCP, true, "tcp", true, false},
		{ListenTCP, false, "tcp", true, false},
		{"udp", true, "", false, true},
	} {
		got, err := ChooseTransport(tc.listen, tc.haveVsock)
		if (err != nil) != tc.bad {
			t.Errorf("%s, vsock %v: error %v", tc.listen, tc.haveVsock, err)
			continue
		}
		if tc.bad {
			continue
		}
		if got.Network != tc.network || (got.Fallback != "") != tc.fallback {
			t.Errorf("%s, vsock %v: %+v, want %s (fallback %v)", tc.listen, tc.haveVsock, got, tc.network, tc.fallback)
		}
	}
	if a := (Transport{Network: "tcp"}).Addr(2380); a != "127.0.0.1:2380" {
		t.Errorf("TCP address %s: only loopback", a)
	}
	if a := (Transport{Network: "vsock"}).Addr(2375); a != "vsock:2375" {
		t.Errorf("vsock address %s", a)
	}
}

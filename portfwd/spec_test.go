package portfwd

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	v4 := netip.MustParseAddr("127.0.0.1")
	v6 := netip.MustParseAddr("::1")
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "8080", want: Spec{HostPort: 8080, GuestPort: 8080, Proto: TCP}},
		{in: "8080:80", want: Spec{HostPort: 8080, GuestPort: 80, Proto: TCP}},
		{in: "8080:80/udp", want: Spec{HostPort: 8080, GuestPort: 80, Proto: UDP}},
		{in: "5353/udp", want: Spec{HostPort: 5353, GuestPort: 5353, Proto: UDP}},
		{in: "127.0.0.1:8080", want: Spec{HostIP: v4, HostPort: 8080, GuestPort: 8080, Proto: TCP}},
		{in: "127.0.0.1:8080:80/tcp", want: Spec{HostIP: v4, HostPort: 8080, GuestPort: 80, Proto: TCP}},
		{in: "[::1]:8080:80", want: Spec{HostIP: v6, HostPort: 8080, GuestPort: 80, Proto: TCP}},
		{in: "[::1]:65535/udp", want: Spec{HostIP: v6, HostPort: 65535, GuestPort: 65535, Proto: UDP}},
		{in: "", wantErr: "empty"},
		{in: "0", wantErr: "out of range"},
		{in: "65536", wantErr: "out of range"},
		{in: "8080:0", wantErr: "guest port 0 is out of range"},
		{in: "99999999999999999999", wantErr: "out of range"},
		{in: "-1", wantErr: "not a number"},
		{in: "+80", wantErr: "not a number"},
		{in: "http", wantErr: "not a number"},
		{in: "8080/sctp", wantErr: `unknown protocol "sctp"`},
		{in: "8080/", wantErr: "unknown protocol"},
		{in: "8080/TCP", wantErr: "unknown protocol"},
		{in: "1:2:3:4", wantErr: "want [HOSTIP:]"},
		{in: "8080:", wantErr: "guest port is missing"},
		{in: ":8080", wantErr: "host port is missing"},
		{in: "300.0.0.1:80", wantErr: "not an IPv4 address"},
		{in: "[::1:80", wantErr: "missing ']'"},
		{in: "[127.0.0.1]:80", wantErr: "not an IPv6 address"},
		{in: "[fe80::1%eth0]:80", wantErr: "not an IPv6 address"},
		{in: "[::1]80", wantErr: "want a host port"},
		{in: "::1:80", wantErr: "want [HOSTIP:]"},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSpec(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestSpecStringRoundTrips(t *testing.T) {
	for _, in := range []string{"8080", "127.0.0.1:1:2/udp", "[::1]:443", "0.0.0.0:80:8080"} {
		sp, err := ParseSpec(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(sp.String())
		if err != nil || back != sp {
			t.Errorf("%q -> %q -> %+v, %v", in, sp.String(), back, err)
		}
	}
}

// FuzzParseSpec: the parser never panics, accepts only ports in range and
// known protocols, and its canonical form reads back to the same Spec.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"8080", "8080:80/udp", "127.0.0.1:80", "[::1]:1:2/tcp", "[", "]:", "1:2:3", "/udp", "0.0.0.0:65535:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			if sp != (Spec{}) {
				t.Fatalf("error with a non-zero spec: %+v", sp)
			}
			return
		}
		if sp.HostPort < 1 || sp.HostPort > 65535 || sp.GuestPort < 1 || sp.GuestPort > 65535 {
			t.Fatalf("%q: port out of range: %+v", s, sp)
		}
		if sp.Proto != TCP && sp.Proto != UDP {
			t.Fatalf("%q: protocol %q", s, sp.Proto)
		}
		back, err := ParseSpec(sp.String())
		if err != nil || back != sp {
			t.Fatalf("%q -> %q -> %+v, %v", s, sp.String(), back, err)
		}
	})
}

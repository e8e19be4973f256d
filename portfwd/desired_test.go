package portfwd

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/berth-dev/berth/internal/engine"
)

// brief renders forwards compactly for comparison.
func brief(fs []Forward) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s->%s %s %s", f.Proto, f.HostAddr(), f.GuestAddr(), f.Source, f.Container+f.Spec))
	}
	return out
}

func TestDesired(t *testing.T) {
	in := Inputs{
		Containers: []engine.Container{
			{ID: "a", Name: "web", Ports: []engine.Port{
				{HostIP: "0.0.0.0", ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
				{HostIP: "::", ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
				{ContainerPort: 443, Proto: "tcp"}, // exposed, not published
			}},
			{ID: "b", Name: "lo", Ports: []engine.Port{{HostIP: "127.0.0.1", ContainerPort: 53, HostPort: 5353, Proto: "udp"}}},
			{ID: "c", Name: "lan", Ports: []engine.Port{{HostIP: "192.0.2.7", ContainerPort: 1, HostPort: 9000, Proto: "tcp"}}},
			{ID: "d", Name: "v6lo", Ports: []engine.Port{{HostIP: "::1", ContainerPort: 443, HostPort: 8443, Proto: "tcp"}}},
		},
		Listeners: []Listener{
			{Proto: TCP, IP: "0.0.0.0", Port: 8080},                          // docker-proxy of web: skipped
			{Proto: TCP, IP: "0.0.0.0", Port: 8081, Process: "docker-proxy"}, // of a container just stopped: skipped
			{Proto: TCP, IP: "192.168.127.2", Port: 2375},                    // dockerd: reserved
			{Proto: TCP, IP: "127.0.0.1", Port: 41000},                       // containerd: private
			{Proto: TCP, IP: "172.17.0.1", Port: 7000},                       // a bridge address: private
			{Proto: TCP, IP: "::", Port: 6379},                               // --network host service
			{Proto: UDP, IP: "0.0.0.0", Port: 8080},                          // another protocol: forwarded
			{Proto: TCP, IP: "192.168.127.2", Port: 18000},                   // bound to the guest address
		},
		Manual: []Spec{
			{HostPort: 6379, GuestPort: 6380, Proto: TCP}, // wins over the guest listener
			{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: 2222, GuestPort: 22, Proto: TCP},
		},
	}
	got := brief(Desired(in, Options{}))
	want := []string{
		"tcp 0.0.0.0:2222->192.168.127.2:22 manual 0.0.0.0:2222:22/tcp",
		"udp 127.0.0.1:5353->192.168.127.3:5353 docker lo",
		"udp [::1]:5353->192.168.127.3:5353 docker lo",
		"tcp 127.0.0.1:6379->192.168.127.2:6380 manual 6379:6380/tcp",
		"tcp [::1]:6379->192.168.127.2:6380 manual 6379:6380/tcp",
		"tcp 0.0.0.0:8080->192.168.127.2:8080 docker web",
		"udp 127.0.0.1:8080->192.168.127.2:8080 guest ",
		"udp [::1]:8080->192.168.127.2:8080 guest ",
		"tcp 127.0.0.1:8443->[::1]:8443 docker v6lo",
		"tcp [::1]:8443->[::1]:8443 docker v6lo",
		"tcp 192.0.2.7:9000->192.168.127.2:9000 docker lan",
		"tcp 127.0.0.1:18000->192.168.127.2:18000 guest ",
		"tcp [::1]:18000->192.168.127.2:18000 guest ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestDesiredLoopbackByDefault(t *testing.T) {
	in := Inputs{Containers: []engine.Container{{ID: "a", Name: "web", Ports: []engine.Port{
		{HostIP: "0.0.0.0", ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
		{HostIP: "::", ContainerPort: 80, HostPort: 8080, Proto: "tcp"},
	}}}}
	got := brief(Desired(in, Options{LoopbackByDefault: true}))
	want := []string{
		"tcp 127.0.0.1:8080->192.168.127.2:8080 docker web",
		"tcp [::1]:8080->192.168.127.2:8080 docker web",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDesiredRange(t *testing.T) {
	var ports []engine.Port
	for p := 9000; p <= 9010; p++ {
		ports = append(ports, engine.Port{HostIP: "0.0.0.0", ContainerPort: p, HostPort: p, Proto: "tcp"})
	}
	fs := Desired(Inputs{Containers: []engine.Container{{ID: "r", Name: "r", Ports: ports}}}, Options{})
	if len(fs) != 11 || fs[0].HostPort != 9000 || fs[10].HostPort != 9010 {
		t.Fatalf("range: %q", brief(fs))
	}
}

package exposure

import (
	"io/fs"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Lines as Linux prints them (trimmed of their timers).
const (
	procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 112 1 0 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 113 1 0 20 4 30 10 -1
`
	procTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 121 1 0 100 0 0 10 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 122 1 0 100 0 0 10 0
`
	procUDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 131 2 0 0
  101: 0F02000A:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000  1000        0 132 2 0 0
`
	procUnix = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 141 /home/u/.berth/default/agent.sock
0000000000000000: 00000002 00000000 00010000 0001 01 142 @/tmp/.X11-unix/X0
0000000000000000: 00000003 00000000 00000000 0001 03 143 /run/user/1000/bus
0000000000000000: 00000002 00000000 00000000 0002 01 144 /home/u/.berth/default/link.sock
0000000000000000: 00000003 00000000 00000000 0001 03 145
0000000000000000: 00000002 00000000 00010000 0001 01 146 /home/u/my dir/s.sock
`
)

func TestParse(t *testing.T) {
	var got []string
	for _, c := range []struct{ text, proto string }{{procTCP, "tcp"}, {procTCP6, "tcp"}, {procUDP, "udp"}} {
		socks, err := ParseInet(strings.NewReader(c.text), c.proto)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range socks {
			got = append(got, s.String())
		}
	}
	socks, err := ParseUnix(strings.NewReader(procUnix))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		got = append(got, s.String())
	}
	want := []string{"tcp 127.0.0.1:8080", "tcp 0.0.0.0:22", "tcp [::1]:443", "tcp [::]:80", "udp 127.0.0.1:53",
		"unix /home/u/.berth/default/agent.sock", "unix @/tmp/.X11-unix/X0", "unix /home/u/.berth/default/link.sock", "unix /home/u/my dir/s.sock"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("listening:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ParseInet(strings.NewReader("hdr\n 0: zz:1 0:0 0A 0 0 0 0 0 1\n"), "tcp"); err == nil {
		t.Error("a line out of the kernel's format was read")
	}
}

type fakeInfo struct {
	fs.FileInfo
	mode fs.FileMode
}

func (f fakeInfo) Mode() fs.FileMode { return f.mode }

func TestAudit(t *testing.T) {
	modes := map[string]fs.FileMode{
		"/home/u/.berth/default": 0o700, "/home/u/.berth/default/agent.sock": fs.ModeSocket | 0o600,
		"/home/u/.berth/default/docker.sock": fs.ModeSocket | 0o666, "/tmp": 0o1777, "/tmp/x.sock": fs.ModeSocket | 0o600,
		"/run/qemu": 0o700, "/run/qemu/qmp.sock": fs.ModeSocket | 0o755, // readable, but only the owner may connect
	}
	stat := func(p string) (fs.FileInfo, error) {
		if m, ok := modes[p]; ok {
			return fakeInfo{mode: m}, nil
		}
		return nil, fs.ErrNotExist
	}
	inet := func(proto, ap string) Socket { return Socket{Proto: proto, Addr: netip.MustParseAddrPort(ap)} }
	socks := []Socket{
		inet("tcp", "127.0.0.1:8080"), inet("tcp", "[::1]:8080"), inet("udp", "127.0.0.1:53"),
		inet("tcp", "0.0.0.0:9000"), // published by the user
		inet("tcp", "0.0.0.0:9001"), inet("udp", "[::]:5353"), inet("tcp", "192.168.1.2:80"),
		{Proto: "unix", Path: "/home/u/.berth/default/agent.sock"},
		{Proto: "unix", Path: "/home/u/.berth/default/.123/s"}, // bound in a temporary directory, since moved
		{Proto: "unix", Path: "/home/u/.berth/default/docker.sock"},
		{Proto: "unix", Path: "/tmp/x.sock"},
		{Proto: "unix", Path: "/run/qemu/qmp.sock"},
		{Proto: "unix", Path: "@abstract"},
	}
	errs := Audit(socks, Policy{Published: []Socket{inet("tcp", "0.0.0.0:9000")}}, stat)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"tcp 0.0.0.0:9001: listens beyond the loopback",
		"udp [::]:5353: listens beyond the loopback",
		"tcp 192.168.1.2:80: listens beyond the loopback",
		"unix /home/u/.berth/default/docker.sock: mode -rw-rw-rw-, writable",
		"unix /tmp/x.sock: its directory /tmp has mode -rwxrwxrwx",
		"unix @abstract: an abstract socket",
	}
	if len(got) != len(want) {
		t.Fatalf("audit:\n%s\nwant %d findings", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("finding %d: %q; want it to start %q", i, got[i], want[i])
		}
	}
}

// This process's own sockets are found, with their addresses.
func TestListeningThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Listening reads Linux's /proc")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ln := l.Addr().String()
	socks, err := Listening(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range socks {
		if s.Proto == "tcp" && s.Addr.String() == ln {
			return
		}
	}
	t.Fatalf("%s not among %v", ln, socks)
}

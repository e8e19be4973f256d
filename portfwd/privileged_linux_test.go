package portfwd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPrivilegedPortAsUser opens a forward on a privileged port as a user
// without the right, for real: the test binary runs itself again as
// nobody, whose bind the kernel refuses, and the error must say what to do.
func TestPrivilegedPortAsUser(t *testing.T) {
	if port := os.Getenv("BERTH_TEST_PRIVILEGED_PORT"); port != "" {
		p, _ := strconv.Atoi(port)
		fw := &Forwarders{Net: loopNet{}}
		_, err := fw.Open(Forward{Proto: TCP, HostIP: "127.0.0.1", HostPort: p, GuestIP: "192.168.127.2", GuestPort: 80})
		fmt.Printf("uid %d: %v\n", os.Geteuid(), err)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run itself as another user")
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Skipf("no ip_unprivileged_port_start: %v", err)
	}
	start, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if start < 2 {
		t.Skipf("every port is unprivileged on this host (ip_unprivileged_port_start = %d)", start)
	}
	port := start - 1
	// A copy nobody can run: the test binary sits in a private directory.
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "berth-privileged-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "portfwd.test")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestPrivilegedPortAsUser$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("BERTH_TEST_PRIVILEGED_PORT=%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{"uid 65534:", "permission denied", fmt.Sprintf("port %d is privileged", port),
		"ip_unprivileged_port_start = " + strconv.Itoa(start), "CAP_NET_BIND_SERVICE"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error as nobody does not say %q:\n%s", want, out)
		}
	}
}

//go:build windows

package winservice

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
	"github.com/berth-dev/berth/vm/hyperv"
)

func runHelper(string) { os.Exit(2) }

// TestServiceOverPipe serves the control pipe for real (go-winio, the
// service's DACL, the caller read by impersonating the pipe's client) and
// sends it what a user's agent would, through the Client that the Hyper-V
// driver uses, dialing with the server-SID check: requests served and
// passed to the Hyper-V manager with the caller's own SID, a malformed
// one, an unknown kind, and an unauthorised caller (a service whose
// principal is another SID) refused, each in the event log.
func TestServiceOverPipe(t *testing.T) {
	me, err := sockets.UserSID()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := func(principal string) (*Service, *fakeManager, *recordLog, func(context.Context) (net.Conn, error)) {
		pipe := fmt.Sprintf(`\\.\pipe\berth-service-test-%d-%s`, os.Getpid(), principal[len(principal)-4:])
		s, m, l := newTestService()
		s.Principal = principal
		// The DACL admits this test's user either way, so that the
		// service's own check is what refuses the other principal.
		ln, err := Listen(pipe, ServiceSDDL(me))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, ln, s) }()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Serve did not return")
			}
		})
		dial := func(ctx context.Context) (net.Conn, error) { return sockets.DialServerIdentified(ctx, pipe, me) }
		if wine.Detected() {
			// Wine parks a go-winio pipe's first client on its
			// placeholder instance, never accepted.
			c, err := dial(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}
		return s, m, l, dial
	}

	_, m, l, dial := serve(me)
	c := &Client{Dial: dial}
	st, err := c.Start(ctx, "S-1-5-18", hyperv.MachineRequest{Machine: "default", CPUs: 2, MemoryMiB: 2048, DiskGiB: 64})
	if err != nil || st.State != "running" {
		t.Fatalf("Start = %+v, %v", st, err)
	}
	if f, err := c.Features(ctx); err != nil || f.Containers != FeatureEnabled {
		t.Fatalf("Features = %+v, %v", f, err)
	}
	if got := m.got(); len(got) != 1 || got[0] != "start "+me+" default 2 2048 64" {
		t.Fatalf("manager calls %q: want the caller's SID %s from its token", got, me)
	}
	raw := func(dial func(context.Context) (net.Conn, error), line string) string {
		t.Helper()
		conn, err := dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := conn.Read(b)
		return string(b[:n])
	}
	if got := raw(dial, `{"kind":"hyperv.stop","args":{"machine":"default","path":"C:\\x"}}`); !strings.Contains(got, `unknown field \"path\"`) {
		t.Fatalf("extra field: %s", got)
	}
	if got := raw(dial, `{"kind":"hyperv.stop"`); !strings.Contains(got, "not a request") {
		t.Fatalf("malformed: %s", got)
	}
	if got := raw(dial, `{"kind":"shell","args":{"cmd":"cmd.exe"}}`); !strings.Contains(got, `unknown kind \"shell\"`) {
		t.Fatalf("unknown kind: %s", got)
	}
	if len(m.got()) != 1 {
		t.Fatalf("a refused request reached the manager: %q", m.got())
	}
	if n := len(l.all()); n != 5 {
		t.Fatalf("event log has %d entries, want 5:\n%s", n, strings.Join(l.all(), "\n"))
	}

	_, m2, l2, dial2 := serve("S-1-5-21-1-2-3-4444")
	_, err = (&Client{Dial: dial2}).Start(ctx, "", hyperv.MachineRequest{Machine: "default", CPUs: 2, MemoryMiB: 2048, DiskGiB: 64})
	if err == nil || !strings.Contains(err.Error(), "refused a caller running as "+me) {
		t.Fatalf("unauthorised caller: %v", err)
	}
	if len(m2.got()) != 0 || len(l2.all()) != 1 || !strings.HasPrefix(l2.all()[0], "warning 2 refused a caller") {
		t.Fatalf("unauthorised: calls %q, log %q", m2.got(), l2.all())
	}
}

// A pipe whose server is not the expected account is refused before a
// byte is sent (the service's clients expect SYSTEM).
func TestDialServiceRefusesOtherServer(t *testing.T) {
	pipe := fmt.Sprintf(`\\.\pipe\berth-service-squat-%d`, os.Getpid())
	me, err := sockets.UserSID()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(pipe, ServiceSDDL(me))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = sockets.DialServer(context.Background(), pipe, SystemSID)
	if err == nil || !strings.Contains(err.Error(), "not as this user (S-1-5-18)") {
		t.Fatalf("DialServer expecting SYSTEM = %v", err)
	}
}

// The control pipe's security descriptor, read back from a client handle:
// a protected DACL, SYSTEM and the principal only, the principal with
// read and write (what a client needs) and not more. Under Wine this reads
// what Wine stored; that Windows enforces it needs a Windows machine.
func TestServicePipeDACL(t *testing.T) {
	me, err := sockets.UserSID()
	if err != nil {
		t.Fatal(err)
	}
	pipe := fmt.Sprintf(`\\.\pipe\berth-service-dacl-%d`, os.Getpid())
	ln, err := Listen(pipe, ServiceSDDL(me))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	name, _ := windows.UTF16PtrFromString(pipe)
	h, err := windows.CreateFile(name, windows.READ_CONTROL, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatalf("opening %s for READ_CONTROL: %v", pipe, err)
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	sd, err := windows.GetSecurityInfo(h, windows.SE_KERNEL_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	control, _, err := sd.Control()
	if err != nil || control&windows.SE_DACL_PROTECTED == 0 {
		t.Fatalf("DACL not protected (%v): %s", err, sd)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("DACL %v, %v", dacl, err)
	}
	masks := map[string]windows.ACCESS_MASK{}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatal(err)
		}
		if ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE {
			masks[(*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()] |= ace.Mask
		}
	}
	rw := windows.ACCESS_MASK(windows.GENERIC_READ | windows.GENERIC_WRITE)
	mapped := windows.ACCESS_MASK(windows.FILE_GENERIC_READ | windows.FILE_GENERIC_WRITE)
	if len(masks) != 2 || masks[SystemSID] == 0 || (masks[me] != rw && masks[me] != mapped) {
		t.Fatalf("the control pipe's DACL allows %v (%s); want SYSTEM and %s (read and write) only", masks, sd, me)
	}
}

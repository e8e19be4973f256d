package hostagent

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/wine"
)

// The agent serves the dashboard on 127.0.0.1 and hands its address, with
// the token, through the control API only; the page answers with the token
// and refuses without; the stop closes its port. dashboard.enabled: false
// serves nothing, and the control API says so; the status has the data
// disk's space for the page; a port in use leaves the
// machine running without its page.
func TestDashboardServed(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
	a := startAgent(t, "", fakeDriverName)
	addr, err := a.ctl.Dashboard(a.ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(addr)
	if err != nil || u.Hostname() != "127.0.0.1" || len(u.Query().Get("token")) != 64 {
		t.Fatalf("dashboard address %q (%v): want 127.0.0.1 and a token", addr, err)
	}
	if resp, err := http.Get("http://" + u.Host + "/"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the token: %v %v, want 403", resp, err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(addr)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("with the token: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = hc.Get("http://" + u.Host + "/api/machine")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"state":"running"`) {
		t.Errorf("/api/machine: %d %s", resp.StatusCode, body)
	}
	// The data disk's space, from the guest's health checks.
	deadline := time.Now().Add(healthPeriod + guestRequestTTL)
	for {
		st, err := a.ctl.Status(a.ctx)
		if err == nil && st.DiskBytes == fakeDiskBytes && st.DiskFreeBytes == fakeDiskFree {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, %v: want the data disk's size and free space", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.ctl.Stop(a.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-a.runErr; err != nil {
		t.Fatalf("Run after a stop: %v", err)
	}
	if c, err := net.Dial("tcp", u.Host); err == nil {
		c.Close()
		t.Errorf("the dashboard's port %s still answers after the stop", u.Host)
	}

	off := startAgent(t, "dashboard: {enabled: false}\n", fakeDriverName)
	if _, err := off.ctl.Dashboard(off.ctx); err == nil || !strings.Contains(err.Error(), "dashboard.enabled: false") {
		t.Errorf("dashboard off: %v", err)
	}
	if err := off.ctl.Stop(off.ctx); err != nil {
		t.Fatal(err)
	}
	<-off.runErr

	// A port someone else holds: the machine runs, without its page, and
	// the control API says why.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	busy := startAgent(t, "dashboard: {port: "+strconv.Itoa(port)+"}\n", fakeDriverName)
	if _, err := busy.ctl.Dashboard(busy.ctx); err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("dashboard on a port in use: %v, want the port named", err)
	}
	if err := busy.ctl.Stop(busy.ctx); err != nil {
		t.Fatal(err)
	}
	<-busy.runErr
}

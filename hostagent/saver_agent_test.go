package hostagent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/internal/wine"
	"github.com/berth-dev/berth/store"
)

// The whole agent against the fake driver, whose Pause stops the fake
// VM's process (a paused fake guest answers nothing): with
// resourceSaver.idle 1s the idle machine is paused; a docker ping through
// the socket resumes it and is answered, and so does a connection to a
// forwarded port; the agent's events say paused, then running; and a stop
// while paused resumes the VM so that its guest shuts down cleanly.
func TestResourceSaverPausesAndWakes(t *testing.T) {
	wine.Skip(t, "Wine has no AF_UNIX sockets, and the fake guest's network link is one")
	a := startAgent(t, "resourceSaver: {idle: 1s}\n", "")
	ctx, m, f, ctl, runErr := a.ctx, a.m, a.f, a.ctl, a.runErr

	// The agent's events, as `berth status --watch` and the tray follow them.
	var evMu sync.Mutex
	var states []string
	evCtx, stopEvents := context.WithCancel(ctx)
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		_ = ctl.Events(evCtx, func(ev api.Event) error {
			if ev.Status != nil {
				evMu.Lock()
				if n := len(states); n == 0 || states[n-1] != string(ev.Status.State) {
					states = append(states, string(ev.Status.State))
				}
				evMu.Unlock()
			}
			return nil
		})
	}()

	// A manual forward to the stand-in engine's port in the guest.
	hostPort := freePort(t)
	if _, err := ctl.AddForward(ctx, fmt.Sprintf("127.0.0.1:%d:%d", hostPort, guestconfig.DockerPort)); err != nil {
		t.Fatal(err)
	}

	since := waitPaused(ctx, t, ctl, f, 1)
	if since.IsZero() || time.Since(since) > time.Minute {
		t.Errorf("pausedSince %s", since)
	}
	// The agent's own work (the health check every 5s, the listener poll
	// every second, the container list every 15s) neither wakes it nor
	// finds it unreachable.
	// Long enough for a health request to time out (guestRequestTTL).
	wait := healthPeriod + guestRequestTTL + time.Second
	time.Sleep(wait)
	if st, err := ctl.Status(ctx); err != nil || st.State != api.StatePaused || !st.PausedSince.Equal(since) {
		t.Fatalf("after %s paused: %+v, %v; want still paused since %s", wait, st, err, since)
	}
	f.mu.Lock()
	resumes := f.resumes
	f.mu.Unlock()
	if resumes != 0 {
		t.Fatalf("the agent resumed the VM %d times by itself", resumes)
	}

	// The docker socket: a new connection resumes the VM before it is
	// carried (the stand-in, stopped, would never answer otherwise).
	began := time.Now()
	if body, err := rawPing(ctx, func() (net.Conn, error) { return sockets.Dial(ctx, m.DockerSocket()) }); err != nil || body != "OK" {
		t.Fatalf("ping through the docker socket of a paused machine: %q, %v", body, err)
	}
	t.Logf("resume to answered ping through the docker socket: %s", time.Since(began))
	checkAwake(ctx, t, ctl, f, 1)

	// A forwarded port, once paused again.
	waitPaused(ctx, t, ctl, f, 2)
	if body, err := rawPing(ctx, func() (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", hostPort))
	}); err != nil || body != "OK" {
		t.Fatalf("ping through a forwarded port of a paused machine: %q, %v", body, err)
	}
	checkAwake(ctx, t, ctl, f, 2)

	// Stopped while paused: resumed first, the guest shuts down by itself.
	waitPaused(ctx, t, ctl, f, 3)
	if err := ctl.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run after a stop: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after a stop")
	}
	stopEvents()
	<-evDone
	checkNothingLeft(t, m, f)
	f.mu.Lock()
	kills := f.kills
	resumes = f.resumes
	f.mu.Unlock()
	if kills != 0 || resumes != 3 {
		t.Errorf("the VM was killed %d times and resumed %d; want a resume for the stop and a clean power-off", kills, resumes)
	}
	if console, _ := os.ReadFile(m.Path(store.SerialLogFile)); !strings.Contains(string(console), consoleShutdown) {
		t.Error("the guest was not asked to shut down")
	}
	evMu.Lock()
	got := strings.Join(states, " ")
	evMu.Unlock()
	// (What follows, stopped and stopping, comes in the order the agent's
	// run ends in, which is not this test's business.)
	if want := "running paused running paused running paused running "; !strings.HasPrefix(got, want) || strings.Contains(got, "degraded") {
		t.Errorf("the events' states: %s\nwant them to begin %s, nothing degraded", got, want)
	}
}

// waitPaused waits until the machine is paused for the nth time, and the
// fake VM with it; it returns when the status says it was paused.
func waitPaused(ctx context.Context, t *testing.T, ctl *api.Client, f *fakeVM, n int) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		st, err := ctl.Status(ctx)
		f.mu.Lock()
		paused, pauses := f.paused, f.pauses
		f.mu.Unlock()
		if err == nil && st.State == api.StatePaused && paused && pauses == n {
			return st.PausedSince
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not paused a %s time (status %+v, %v; the VM paused %d times, now %v)", ordinal(n), st, err, pauses, paused)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkAwake checks the machine runs again after its nth resume.
func checkAwake(ctx context.Context, t *testing.T, ctl *api.Client, f *fakeVM, n int) {
	t.Helper()
	f.mu.Lock()
	paused, pauses, resumes := f.paused, f.pauses, f.resumes
	f.mu.Unlock()
	// Paused again already is possible on a slow host (idle is 1s).
	if resumes != n || pauses == n && paused {
		t.Fatalf("after the request: the VM paused %d times (now %v), resumed %d; want resumed %d", pauses, paused, resumes, n)
	}
	st, err := ctl.Status(ctx)
	if err != nil || st.State != api.StateRunning && st.State != api.StatePaused || st.State == api.StateRunning && !st.PausedSince.IsZero() {
		t.Fatalf("status after a resume: %+v, %v", st, err)
	}
}

// rawPing sends GET /_ping on a new connection and returns the body.
func rawPing(ctx context.Context, dial func() (net.Conn, error)) (string, error) {
	c, err := dial()
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "first"
	case 2:
		return "second"
	case 3:
		return "third"
	}
	return fmt.Sprintf("%dth", n)
}

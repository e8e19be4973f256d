package hostagent

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
)

// The health check after a resume does not wait out a first connection
// that goes unanswered (a SYN lost as the VM resumed, which TCP resends
// only a second later): it tries again on a new connection after
// resumeAttemptTTL, and the guest's answer comes from that one.
func TestHealthAfterResumeRetriesAStalledConnection(t *testing.T) {
	srv := httptest.NewServer(agentapi.NewHandler(&fakeGuestBackend{}))
	t.Cleanup(srv.Close)
	var dials atomic.Int32
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			// The first connection: nothing ever answers on it.
			c, peer := net.Pipe()
			go func() { _, _ = io.Copy(io.Discard, peer) }()
			t.Cleanup(func() { peer.Close() })
			return c, nil
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}
	a := &Agent{guest: agentapi.NewClient(dial), log: slog.New(slog.DiscardHandler)}
	t0 := time.Now()
	h, sent, err := a.guestHealthAfterResume(context.Background())
	took := time.Since(t0)
	if err != nil || h.Engine.State != agentapi.EngineRunning {
		t.Fatalf("health after a stalled first connection: %+v, %v", h.Engine, err)
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d connections, want the stalled one and one more", n)
	}
	if took < resumeAttemptTTL || took > resumeAttemptTTL+time.Second/2 {
		t.Errorf("answered after %s, want a little over %s (not TCP's second)", took, resumeAttemptTTL)
	}
	if since := time.Since(sent); since > took-resumeAttemptTTL+100*time.Millisecond {
		t.Errorf("sent %s ago: want the time of the try that answered, not of the first", since)
	}
}

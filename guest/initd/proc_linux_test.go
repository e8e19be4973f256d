package initd

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// The real reaper collects real children; spawn never calls wait itself.
func TestRunThroughRealReaper(t *testing.T) {
	in := &Init{reaper: NewReaper(waitAny), console: &console{f: os.Stderr}}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				in.reaper.Reap()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, e, err := in.run(ctx, "sh", "-c", "echo hello; echo oops >&2; exit 3")
	if err == nil || e.Code != 3 || !strings.Contains(err.Error(), "exit status 3") || out != "hello\noops" {
		t.Fatalf("out %q exit %v err %v", out, e, err)
	}
	if _, e, err := in.run(ctx, "sh", "-c", "kill -9 $$"); err == nil || e.Signal != "SIGKILL" {
		t.Fatalf("exit %v err %v", e, err)
	}
	if _, _, err := in.run(ctx, "true"); err != nil {
		t.Fatal(err)
	}
}

//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
)

const (
	loadAPICalls   = 1000
	loadShort      = 10000
	loadShortConc  = 50
	loadLong       = 200
	loadLongFor    = 10 * time.Second
	loadSettleTime = time.Minute
	maxLoadSys     = 1 << 30 // the agent's memory from the system at the load's peak
)

// loadSuite is the fault suite's load case (TestFaults, `make
// test-faults`; `make test-load` runs it alone), on a machine of its own:
// 1,000 concurrent docker API calls through the socket bridge, then 10,000
// short connections and 200 concurrent long ones through one forward, with
// no error; `docker logs -f` of a flood and a build with a 1 GiB context;
// afterwards the agent's open files and goroutines come back to where they
// started, and its memory stays bounded. The figures are logged.
func loadSuite(t *testing.T) {
	e := newEnv(t)
	e.mustBerth(t, "start")
	e.buildProbeImage(t)
	loadPort := freePort(t)
	e.mustDocker(t, "run", "-d", "--name", "load", "-p", fmt.Sprintf("127.0.0.1:%d:5001", loadPort), probeImage, "netprobe", "tcp-bench", ":5001")
	fwd := fmt.Sprintf("127.0.0.1:%d", loadPort)
	waitBench(t, fwd, time.Minute)
	ctl := e.agent()
	ctx := context.Background()

	// The starting figures, once the warm-up's connections are gone.
	time.Sleep(2 * time.Second)
	start := resourcesOf(t, ctl)
	t.Logf("agent at the start: %d goroutines, %d open files, heap %.1f MiB, from the system %.1f MiB",
		start.Goroutines, start.FDs, mib(start.HeapBytes), mib(start.SysBytes))
	peak := watchPeak(ctx, t, ctl)

	t.Run("1000 concurrent docker API calls", func(t *testing.T) {
		hc := e.socketClient()
		// Under emulation (TCG) the engine answers a few calls a second:
		// the last of a thousand waits minutes, which is no error.
		hc.Timeout = 15 * time.Minute
		paths := []string{"/_ping", "/version", "/containers/json", "/images/json", "/info"}
		lat := make([]time.Duration, loadAPICalls)
		var errs atomic.Int64
		var firstErr atomic.Value
		var kindsMu sync.Mutex
		kinds := map[string]int{} // each error, without its URL
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range loadAPICalls {
			wg.Go(func() {
				s := time.Now()
				resp, err := hc.Get("http://docker" + paths[i%len(paths)])
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				lat[i] = time.Since(s)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					kind := err.Error()
					var ue *url.Error
					if errors.As(err, &ue) {
						kind = ue.Err.Error()
					}
					kindsMu.Lock()
					kinds[kind]++
					kindsMu.Unlock()
				}
			})
		}
		wg.Wait()
		total := time.Since(t0)
		for k, n := range kinds {
			t.Logf("%d calls failed with %q", n, k)
		}
		slices.Sort(lat)
		t.Logf("%d calls in %v: p50 %v, p99 %v, max %v, %d errors", loadAPICalls, total.Round(time.Millisecond),
			lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), errs.Load())
		if errs.Load() > 0 {
			t.Errorf("%d of %d calls failed; the first: %v", errs.Load(), loadAPICalls, firstErr.Load())
		}
	})

	t.Run("10000 short connections through one forward", func(t *testing.T) {
		var errs atomic.Int64
		var firstErr atomic.Value
		next := atomic.Int64{}
		var wg sync.WaitGroup
		t0 := time.Now()
		for range loadShortConc {
			wg.Go(func() {
				for next.Add(1) <= loadShort {
					if n, err := upload(fwd, 16); err != nil || n != 16 {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%d bytes, %v", n, err))
					}
				}
			})
		}
		wg.Wait()
		d := time.Since(t0)
		t.Logf("%d connections (%d at a time) in %v: %.0f/s, %d errors", loadShort, loadShortConc, d.Round(time.Millisecond), float64(loadShort)/d.Seconds(), errs.Load())
		if errs.Load() > 0 {
			t.Errorf("%d of %d connections failed; the first: %v", errs.Load(), loadShort, firstErr.Load())
		}
	})

	t.Run("200 concurrent long connections through one forward", func(t *testing.T) {
		var errs atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		open := make(chan struct{}, loadLong)
		t0 := time.Now()
		for range loadLong {
			wg.Go(func() {
				if err := longConnection(fwd, open); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			})
		}
		// All of them open at once, for a while.
		waitFor(t, "the long connections to open", time.Minute, func() bool { return len(open) == loadLong || errs.Load() > 0 })
		during := resourcesOf(t, ctl)
		wg.Wait()
		t.Logf("%d connections open together for %v (%v in all): the agent held %d goroutines and %d open files; %d errors",
			loadLong, loadLongFor, time.Since(t0).Round(time.Millisecond), during.Goroutines, during.FDs, errs.Load())
		if errs.Load() > 0 {
			t.Errorf("%d of %d long connections failed; the first: %v", errs.Load(), loadLong, firstErr.Load())
		}
	})

	t.Run("docker logs -f of a container writing as fast as it can for a minute", func(t *testing.T) { logsFlood(t, e) })
	t.Run("docker build with a 1 GiB context", func(t *testing.T) { bigContextBuild(t, e) })

	// Everything the load opened is closed again.
	var end *api.Resources
	deadline := time.Now().Add(loadSettleTime)
	for {
		end = resourcesOf(t, ctl)
		if end.Goroutines <= start.Goroutines && end.FDs <= start.FDs || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	p := peak()
	t.Logf("agent at the end: %d goroutines (start %d), %d open files (start %d); heap at most %.1f MiB, from the system at most %.1f MiB (start %.1f)",
		end.Goroutines, start.Goroutines, end.FDs, start.FDs, mib(p.HeapBytes), mib(p.SysBytes), mib(start.SysBytes))
	if end.Goroutines > start.Goroutines || end.FDs > start.FDs {
		t.Errorf("after %v the agent holds %d goroutines and %d open files; it started with %d and %d",
			loadSettleTime, end.Goroutines, end.FDs, start.Goroutines, start.FDs)
	}
	// Each call in flight holds the bridge's two 64 KiB readers and its
	// connection's user-space TCP buffers, and the collector lets the heap
	// reach about twice what is live: measured peaks 183-436 MiB. The
	// bound is what the burst may hold by that design.
	if p.SysBytes > maxLoadSys {
		t.Errorf("the agent took %.0f MiB from the system under load, over %.0f MiB", mib(p.SysBytes), mib(maxLoadSys))
	}
}

// longConnection holds one connection open for loadLongFor, sending a
// little every 100 ms, then checks the server counted every byte.
func longConnection(addr string, open chan<- struct{}) error {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(loadLongFor + 2*time.Minute))
	if _, err := c.Write([]byte{'u'}); err != nil {
		return err
	}
	open <- struct{}{}
	chunk := make([]byte, 100)
	var sent uint64
	for end := time.Now().Add(loadLongFor); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, err := c.Write(chunk); err != nil {
			return fmt.Errorf("after %d bytes: %w", sent, err)
		}
		sent += uint64(len(chunk))
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	var got uint64
	if err := binary.Read(bufio.NewReader(c), binary.BigEndian, &got); err != nil {
		return fmt.Errorf("reading the count: %w", err)
	}
	if got != sent {
		return fmt.Errorf("sent %d bytes, the server counted %d", sent, got)
	}
	return nil
}

func resourcesOf(t *testing.T, ctl *api.Client) *api.Resources {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := ctl.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// watchPeak samples the agent's memory every half second until the test
// ends; the returned function gives the highest figures seen.
func watchPeak(ctx context.Context, t *testing.T, ctl *api.Client) func() api.Resources {
	ctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var peak api.Resources
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			c, cancelReq := context.WithTimeout(ctx, 10*time.Second)
			r, err := ctl.Resources(c)
			cancelReq()
			if err == nil {
				mu.Lock()
				peak.HeapBytes = max(peak.HeapBytes, r.HeapBytes)
				peak.SysBytes = max(peak.SysBytes, r.SysBytes)
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() api.Resources {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

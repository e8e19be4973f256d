package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// saverIdle is resourceSaver.idle for these tests: a few seconds.
const saverIdle = 5 * time.Second

// TestResourceSaver: with resourceSaver.idle at 5s in the config file, the
// idle machine pauses (status says paused and since when); `docker version`
// through Berth's socket answers without error and resumes it; the guest's
// clock is within a second of the host's after a resume that followed a
// pause of at least 5 s; a running container keeps it from pausing; a stop
// while paused powers the VM off cleanly.
func TestResourceSaver(t *testing.T) {
	e := newEnv(t)
	e.mustBerth(t, "config", "set", "resourceSaver.idle", saverIdle.String())
	e.mustBerth(t, "start")
	const image = "berth-test-saver-busybox"
	e.buildBusyboxImage(t, image)

	t.Run("pauses when idle", func(t *testing.T) {
		st := e.waitPaused(t, 2*time.Minute)
		if st.PausedSince.IsZero() || time.Since(st.PausedSince) > 2*time.Minute {
			t.Errorf("pausedSince %v", st.PausedSince)
		}
		if out := e.mustBerth(t, "status"); !strings.Contains(out, "paused (resource saver, since ") {
			t.Errorf("berth status of a paused machine:\n%s", out)
		}
		// Asking the agent does not wake it.
		if st := e.status(t); st.State != "paused" {
			t.Errorf("status woke the machine: %s", st.State)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("docker resumes it, clock right", func(t *testing.T) {
		st := e.waitPaused(t, 2*time.Minute)
		// Paused at least 5 s: the guest's clock stood still that long.
		if wait := 5*time.Second - time.Since(st.PausedSince); wait > 0 {
			time.Sleep(wait + 100*time.Millisecond)
		}
		if st := e.status(t); st.State != "paused" {
			t.Fatalf("woke up by itself: %s", st.State)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		t0 := time.Now()
		out, err := e.docker(ctx, nil, "version", "--format", "{{.Server.Version}}")
		if err != nil || strings.TrimSpace(out) == "" {
			t.Fatalf("docker version on a paused machine: %v\n%s", err, out)
		}
		t.Logf("docker version on the paused machine answered in %s", time.Since(t0))
		if st := e.status(t); st.State != "running" {
			t.Errorf("after docker version: %s, want running", st.State)
		}
		// The engine's own clock (dockerd reads the guest's), nanoseconds.
		before := time.Now()
		out = e.mustDocker(t, "info", "--format", "{{.SystemTime}}")
		after := time.Now()
		guest, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("docker info's SystemTime: %q: %v", out, err)
		}
		if guest.Before(before.Add(-time.Second)) || guest.After(after.Add(time.Second)) {
			t.Errorf("guest clock %s after the resume; the host's was %s to %s (off by more than 1s)",
				guest.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
		}
	})

	t.Run("a running container keeps it awake", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "saver-sleeper", image, "sleep", "600")
		deadline := time.Now().Add(4 * saverIdle)
		for time.Now().Before(deadline) {
			if st := e.status(t); st.State != "running" {
				t.Fatalf("with a container running the machine is %s", st.State)
			}
			time.Sleep(500 * time.Millisecond)
		}
		e.mustDocker(t, "rm", "-f", "saver-sleeper")
		e.waitPaused(t, 2*time.Minute)
	})

	t.Run("stop while paused", func(t *testing.T) {
		e.waitPaused(t, 2*time.Minute)
		e.mustBerth(t, "stop")
		log, _ := os.ReadFile(filepath.Join(e.machineDir(), "hostagent.log"))
		// Resumed, then saved for the next start (fastStart), not forced.
		if !bytes.Contains(log, []byte("VM saved for the next start")) || bytes.Contains(log, []byte("forcing the VM off")) {
			t.Errorf("the paused VM was not saved cleanly; the agent's log:\n%s", tail(log, 4000))
		}
		e.assertNothingLeft(t)
	})
}

// waitPaused waits until the resource saver has paused the machine.
func (e *env) waitPaused(t testing.TB, d time.Duration) status {
	t.Helper()
	var st status
	waitFor(t, "the machine to pause", d, func() bool {
		st = e.status(t)
		return st.State == "paused"
	})
	return st
}

// percentile is the p-th percentile (0 < p ≤ 1) of d, nearest rank.
func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// BenchmarkResume: with resourceSaver.idle at 2s, 20 times: wait for the
// pause, then time the first answered request through Berth's socket —
// GET /_ping from this process (the resume itself, the bridge and the
// engine), and `docker version` as a user runs it; next to `docker
// version` on the awake machine right after. Reports p50 and p99 in ms.
func BenchmarkResume(b *testing.B) {
	e := newEnv(b)
	e.mustBerth(b, "config", "set", "resourceSaver.idle", "2s")
	e.mustBerth(b, "start")
	hc := e.socketClient()
	const runs = 20
	var pings, resumed, awake []time.Duration
	for range b.N {
		for range runs {
			e.waitPaused(b, 2*time.Minute)
			t0 := time.Now()
			resp, err := hc.Get("http://docker/_ping")
			if err != nil {
				b.Fatalf("ping of a paused machine: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			pings = append(pings, time.Since(t0))
			if string(body) != "OK" {
				b.Fatalf("ping of a paused machine answered %s %q", resp.Status, body)
			}

			e.waitPaused(b, 2*time.Minute)
			resumed = append(resumed, e.timeDockerVersion(b))
			awake = append(awake, e.timeDockerVersion(b))
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"resume-ping", pings}, {"resume-docker-version", resumed}, {"awake-docker-version", awake}} {
		b.ReportMetric(ms(percentile(m.d, 0.5)), m.name+"-p50-ms")
		b.ReportMetric(ms(percentile(m.d, 0.99)), m.name+"-p99-ms")
		b.Logf("%s over %d: p50 %.1f ms, p99 %.1f ms; all %v", m.name, len(m.d), ms(percentile(m.d, 0.5)), ms(percentile(m.d, 0.99)), m.d)
	}
	// Where a slow resume's time went: the agent logs how long QEMU's
	// `cont` and the health check after it took.
	log, _ := os.ReadFile(filepath.Join(e.machineDir(), "hostagent.log"))
	var cont, after []time.Duration
	for _, line := range strings.Split(string(log), "\n") {
		var l struct {
			Msg    string  `json:"msg"`
			Resume float64 `json:"resumeSeconds"`
			After  float64 `json:"afterResumeSeconds"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "resource saver: resumed the VM" {
			cont = append(cont, time.Duration(l.Resume*float64(time.Second)))
			after = append(after, time.Duration(l.After*float64(time.Second)))
		}
	}
	if len(cont) > 0 {
		b.Logf("in the agent, over %d resumes: cont p50 %.1f ms, p99 %.1f ms; the health check after it p50 %.1f ms, p99 %.1f ms",
			len(cont), ms(percentile(cont, 0.5)), ms(percentile(cont, 0.99)), ms(percentile(after, 0.5)), ms(percentile(after, 0.99)))
	}
}

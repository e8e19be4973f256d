package dashboard

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berth-dev/berth/hostagent/api"
)

// The page's speed in a real browser (Debian's chromium, headless), against
// the stand-in engine: what is measured is the page and its server, not the
// VM. `make bench-dashboard` (part of `make bench`).

const benchChromium = "/usr/bin/chromium"

func benchBrowser(b *testing.B) context.Context {
	b.Helper()
	if _, err := os.Stat(benchChromium); err != nil {
		b.Skipf("%s is needed (hack/deps-dashboard.txt): %v", benchChromium, err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(benchChromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true), chromedp.UserDataDir(b.TempDir()), chromedp.WindowSize(1400, 900))
	ctx, cancel := chromedp.NewContext(actx)
	b.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		b.Fatal(err)
	}
	return ctx
}

func benchPage(b *testing.B, f *fakeEngine, dial func(context.Context) (net.Conn, error)) (*Server, context.Context) {
	b.Helper()
	s, err := Start(Options{Agent: &fakeAgent{status: api.Status{Machine: "default", State: api.StateRunning}}, Docker: dial})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := benchBrowser(b)
	step(b, ctx, 30*time.Second, chromedp.Navigate(s.URL()), chromedp.WaitVisible(chromedp.CSS("#containers")))
	return s, ctx
}

func step(b *testing.B, ctx context.Context, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.Fatal(err)
	}
}

func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))
}

// BenchmarkFirstPaint200: from a reload of the containers view to the 200
// containers (20 Compose projects, each with a published port) on screen.
// Goal: under a second.
func BenchmarkFirstPaint200(b *testing.B) {
	f, dial := newFakeEngine(b)
	for i := range 200 {
		f.containers = append(f.containers, summary(fmt.Sprintf("c%03d", i), fmt.Sprintf("app%02d-svc-%d", i%20, i), "running", "Up 5 minutes",
			map[string]string{"com.docker.compose.project": fmt.Sprintf("app%02d", i%20), "com.docker.compose.service": fmt.Sprintf("svc-%d", i)},
			map[string]any{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 20000 + i, "Type": "tcp"}))
	}
	s, ctx := benchPage(b, f, dial)
	b.ResetTimer()
	for b.Loop() {
		step(b, ctx, time.Minute, chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", s.Port())),
			waitJS(`document.querySelectorAll("#containers tr.ctr").length === 200`))
	}
}

// BenchmarkLogs100k: from opening a container to its 100,000 lines of
// logs received, kept and the last ones drawn. Goal: under a second.
func BenchmarkLogs100k(b *testing.B) {
	f, dial := newFakeEngine(b)
	f.containers = []map[string]any{summary("c1", "chatty", "running", "Up", nil)}
	f.inspect["c1"] = map[string]any{"Id": "c1", "Config": map[string]any{"Tty": false}}
	var raw []byte
	for i := range 100000 {
		raw = append(raw, frame(1, fmt.Sprintf("2026-01-01T00:00:00.000000000Z GET /api/items/%d 200 %dus\n", i, i%977))...)
	}
	f.logs["c1"] = raw
	_, ctx := benchPage(b, f, dial)
	step(b, ctx, 30*time.Second, chromedp.WaitVisible(chromedp.CSS(`tr[data-name="chatty"]`)))
	b.ResetTimer()
	for b.Loop() {
		step(b, ctx, time.Minute, chromedp.Click(chromedp.CSS(`tr[data-name="chatty"] td:first-child`)),
			waitJS(`document.querySelector("#log-count").innerText === "100000 lines" &&
				document.querySelector("#log-rows").innerText.includes("/api/items/99999 ")`))
		b.StopTimer()
		step(b, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#panel-close")))
		b.StartTimer()
	}
}

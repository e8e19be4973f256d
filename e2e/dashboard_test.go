package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's browser (hack/deps-dashboard.txt), driven headless.
const chromium = "/usr/bin/chromium"

const portDash = 18200 // -p 18200:80 of the dashboard's test container

// TestDashboard drives the dashboard in a real browser against the real
// VM: the page loads with the token and is refused without it; a container
// started from the CLI appears; it is stopped and started from the page;
// its logs stream; a command typed in its terminal, and in the VM's, prints
// its output; its published port's link answers, and its forward is stopped
// and started again from the ports view; a bad setting is shown next to
// its field; removing an image frees its size; the container is removed
// after the confirmation. BERTH_SCREENSHOTS=DIR writes a PNG of each view.
func TestDashboard(t *testing.T) {
	e := newEnv(t)
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is needed (hack/deps-dashboard.txt): %v", chromium, err)
	}
	e.mustBerth(t, "start")
	e.buildProbeImage(t)
	addr := strings.TrimSpace(e.mustBerth(t, "dashboard", "--no-open"))
	u, err := url.Parse(addr)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Query().Get("token") == "" {
		t.Fatalf("berth dashboard printed %q", addr)
	}
	base := "http://" + u.Host

	t.Run("refused without the token", func(t *testing.T) {
		for _, p := range []string{"/", "/?token=wrong", "/api/containers", "/app.js"} {
			resp, err := http.Get(base + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s without the token: %s, want 403", p, resp.Status)
			}
		}
		b := newBrowser(t)
		b.run(t, 30*time.Second, chromedp.Navigate(base+"/"))
		if body := b.text(t, "body"); strings.TrimSpace(body) != "forbidden" {
			t.Errorf("the browser without the token sees %q", body)
		}
	})

	b := newBrowser(t)
	t.Run("loads with the token", func(t *testing.T) {
		b.run(t, 60*time.Second, chromedp.Navigate(addr), visible("#containers"))
		if loc := b.location(t); strings.Contains(loc, "token") {
			t.Errorf("the token stays in the address bar: %s", loc)
		}
		b.run(t, 30*time.Second, waitText("#machine-state", "running"))
	})
	if t.Failed() {
		return
	}

	row := `tr[data-name="dash-web"]`
	t.Run("a container started from the CLI appears", func(t *testing.T) {
		e.mustDocker(t, "run", "-d", "--name", "dash-web", "--stop-timeout", "2", "-p", fmt.Sprintf("%d:80", portDash), probeImage,
			"sh", "-c", `i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done & exec httpd -f -p 80 -h /www`)
		t0 := time.Now()
		b.run(t, 30*time.Second, visible(row+` .state.running`))
		t.Logf("the page showed the container %v after docker run returned", time.Since(t0).Round(time.Millisecond))
		b.shot(t, "dashboard-containers")
	})
	if t.Failed() {
		return
	}

	t.Run("its port's link answers", func(t *testing.T) {
		href := b.attr(t, row+` a.port`, "href")
		want := fmt.Sprintf("http://127.0.0.1:%d/", portDash)
		if href != want {
			t.Fatalf("port link %q, want %q", href, want)
		}
		expectBody(t, href, 10*time.Second)
	})

	t.Run("stop and start from the page", func(t *testing.T) {
		t0 := time.Now()
		b.run(t, 90*time.Second, click(row+` button[data-action="stop"]`), visible(row+` .state.exited`))
		t.Logf("stopped in %v", time.Since(t0).Round(time.Millisecond))
		if st := strings.TrimSpace(e.mustDocker(t, "inspect", "-f", "{{.State.Status}}", "dash-web")); st != "exited" {
			t.Errorf("docker says %q after the page's stop", st)
		}
		b.run(t, 60*time.Second, click(row+` button[data-action="start"]`), visible(row+` .state.running`))
		if st := strings.TrimSpace(e.mustDocker(t, "inspect", "-f", "{{.State.Status}}", "dash-web")); st != "running" {
			t.Errorf("docker says %q after the page's start", st)
		}
	})

	t.Run("logs stream", func(t *testing.T) {
		b.run(t, 30*time.Second, click(row+` td:first-child`), visible("#log-view"),
			waitText("#log-rows", "tick "))
		first := b.text(t, "#log-rows")
		b.run(t, 20*time.Second, poll(`(() => { const t = document.querySelector("#log-rows").innerText;
			return t !== `+jsString(first)+` && t.includes("tick "); })()`))
		later := b.text(t, "#log-rows")
		t.Logf("log view moved on, last line now %q", lastLogLine(later))
		// Search narrows the lines to the matches.
		b.run(t, 10*time.Second, keys("#log-search", "tick 1"),
			waitText("#log-count", " of "))
		b.shot(t, "dashboard-logs")
	})

	t.Run("a command typed in the terminal prints its output", func(t *testing.T) {
		input := "#terminal .xterm-helper-textarea"
		b.run(t, 60*time.Second, click(`.tabs button[data-tab="terminal"]`), chromedp.WaitReady(chromedp.CSS(input)),
			poll(termOpen),
			typeKeys(input, "echo berth-$((6*7))\r"), waitText("#terminal .xterm-rows", "berth-42"))
		b.shot(t, "dashboard-terminal")
	})

	t.Run("inspect", func(t *testing.T) {
		b.run(t, 20*time.Second, click(`.tabs button[data-tab="inspect"]`), waitText("#inspect", `"Id"`))
		b.shot(t, "dashboard-inspect")
		b.run(t, 10*time.Second, click("#panel-close"))
	})

	t.Run("machine", func(t *testing.T) {
		b.closePanel(t)
		b.run(t, 20*time.Second, click(`nav a[data-view="machine"]`), visible(`dd[data-field="Engine"]`),
			waitText(`dd[data-field="State"]`, "running"))
		b.shot(t, "dashboard-machine")
		b.checkTimeline(t, e.status(t))
		// berth shell, in the page: the VM's own shell.
		input := "#terminal .xterm-helper-textarea"
		b.run(t, 60*time.Second, click("#machine-shell"), chromedp.WaitReady(chromedp.CSS(input)),
			poll(termOpen), typeKeys(input, "cat /proc/sys/kernel/osrelease; echo vm-$((6*7))\r"),
			waitText("#terminal .xterm-rows", "vm-42"))
		b.shot(t, "dashboard-vm-shell")
		b.run(t, 10*time.Second, click("#panel-close"))
		b.run(t, 10*time.Second, click(`nav a[data-view="containers"]`), visible("#containers"))
	})

	t.Run("ports view", func(t *testing.T) {
		b.run(t, 20*time.Second, click(`nav a[data-view="ports"]`),
			visible(fmt.Sprintf(`#ports tr[data-port="%d/tcp"]`, portDash)))
		b.run(t, 20*time.Second, keys("#forward-spec", "99999"), click(`#forward-add button`), waitText("#forward-error", "99999"))
		b.shot(t, "dashboard-ports")
		// Stop forwarding and forward again, as the tray does.
		fw := fmt.Sprintf(`#ports tr[data-port="%d/tcp"]`, portDash)
		b.run(t, 30*time.Second, click(fw+` button[data-action="pause"]`), visible(fw+` .state.paused`))
		waitRefused(t, fmt.Sprintf("127.0.0.1:%d", portDash), 10*time.Second)
		b.run(t, 30*time.Second, click(fw+` button[data-action="resume"]`), visible(fw+` .state.active`))
		expectBody(t, fmt.Sprintf("http://127.0.0.1:%d/", portDash), 10*time.Second)
	})

	t.Run("a config error is shown next to its field", func(t *testing.T) {
		b.run(t, 20*time.Second, click(`nav a[data-view="machine"]`), visible("#set-cpus"),
			chromedp.SetValue(chromedp.CSS("#set-cpus"), "999"), click("#settings-save"),
			waitText(`[data-error-for="cpus"]`, "cpus: 999 is out of range"))
		if cls := b.attr(t, "#set-cpus", "class"); !strings.Contains(cls, "invalid") {
			t.Errorf("the CPUs field is not marked: class %q", cls)
		}
		if got := strings.TrimSpace(e.mustBerth(t, "config", "get", "cpus")); got == "999" {
			t.Error("the refused value was saved")
		}
		b.shot(t, "dashboard-settings")
	})

	t.Run("removing an image frees its size", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+probeImage+"\nRUN dd if=/dev/urandom of=/big bs=1M count=20\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.mustDocker(t, "build", "-q", "-t", "berth-e2e/dash-big:1", dir)
		img := `#images tr[data-tags="berth-e2e/dash-big:1"]`
		b.run(t, 30*time.Second, click(`nav a[data-view="images"]`), visible(img))
		before := b.imagesSize(t)
		b.shot(t, "dashboard-images")
		b.run(t, 60*time.Second, click(img+` button[data-action="remove"]`), visible("#confirm-ok"), click("#confirm-ok"), gone(img))
		after := b.imagesSize(t)
		t.Logf("the engine's images: %.1f MB before, %.1f MB after", before/1e6, after/1e6)
		if before-after < 20e6 {
			t.Errorf("removing a 20 MB image freed %.1f MB", (before-after)/1e6)
		}
		if out, err := e.docker(context.Background(), nil, "image", "inspect", "berth-e2e/dash-big:1"); err == nil {
			t.Errorf("the image is still there:\n%s", tail([]byte(out), 500))
		}
		b.run(t, 20*time.Second, click(`nav a[data-view="disk"]`), visible(`#df tr[data-type="Images"]`))
		b.shot(t, "dashboard-disk")
		b.run(t, 20*time.Second, click(`nav a[data-view="volumes"]`), visible("#volumes"))
		b.shot(t, "dashboard-volumes")
		b.run(t, 20*time.Second, click(`nav a[data-view="networks"]`), visible(`#networks tr[data-network="bridge"]`))
		b.shot(t, "dashboard-networks")
		b.run(t, 10*time.Second, click(`nav a[data-view="containers"]`), visible("#containers"))
	})

	t.Run("reclaim gives the space back to the host", func(t *testing.T) {
		// A dangling image of 80 MB of random data (nothing compresses
		// or dedupes it), on the data disk; the page's "Reclaim space"
		// removes it, the guest discards its blocks (the disk is mounted
		// with discard), and the disk file's allocated blocks fall.
		disk := filepath.Join(e.machineDir(), "data.img")
		if _, err := allocatedBytes(disk); err != nil {
			t.Skip(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+probeImage+"\nRUN dd if=/dev/urandom of=/reclaim bs=1M count=80 && sync\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.mustDocker(t, "build", "-q", dir)
		e.mustBerth(t, "shell", "--", "sync")
		built, _ := allocatedBytes(disk)
		b.run(t, 20*time.Second, click(`nav a[data-view="disk"]`), visible(`#df tr[data-type="Images"]`))
		b.run(t, 3*time.Minute, click("#reclaim"), visible("#confirm-ok"), click("#confirm-ok"), waitText("#reclaimed", "Reclaimed"))
		t.Logf("the page: %s", b.text(t, "#reclaimed"))
		e.mustBerth(t, "shell", "--", "sync")
		var now int64
		waitFor(t, "the data disk file to give back 64 MiB", 2*time.Minute, func() bool {
			now, _ = allocatedBytes(disk)
			return built-now >= 64<<20
		})
		t.Logf("the data disk file's allocated blocks: %.1f MiB after the build, %.1f MiB after Reclaim space (%.1f MiB given back)",
			float64(built)/(1<<20), float64(now)/(1<<20), float64(built-now)/(1<<20))
		b.run(t, 10*time.Second, click(`nav a[data-view="containers"]`), visible("#containers"))
	})

	t.Run("remove after confirmation", func(t *testing.T) {
		b.closePanel(t) // a step before may have left it open, over the row's buttons
		b.run(t, 20*time.Second, click(row+` button[data-action="remove"]`), visible("#confirm-ok"))
		b.shot(t, "dashboard-remove")
		b.run(t, 60*time.Second, click("#confirm-ok"), gone(row))
		if out, err := e.docker(context.Background(), nil, "inspect", "dash-web"); err == nil {
			t.Errorf("the container is still there after the page removed it:\n%s", out)
		}
	})

	t.Run("restart from the page", func(t *testing.T) {
		b.closePanel(t)
		before := e.status(t)
		cfg := strings.TrimSpace(e.mustBerth(t, "config", "path"))
		orig, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		// A bad config (edited by hand) refuses the restart, its problem
		// next to its field, and nothing stops.
		if err := os.WriteFile(cfg, []byte("cpus: 999\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		b.run(t, 20*time.Second, click(`nav a[data-view="machine"]`), visible("#machine-restart"),
			click("#machine-restart"), visible("#confirm-ok"), click("#confirm-ok"),
			waitText(`[data-error-for="cpus"]`, "cpus: 999"), waitText("#machine-error", "cpus: 999"))
		if err := os.WriteFile(cfg, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		if st := e.status(t); st.State != "running" || st.VMPID != before.VMPID {
			t.Fatalf("after a refused restart: %s, VM pid %d (was %d)", st.State, st.VMPID, before.VMPID)
		}

		// The restart: the page (not reloaded) follows the phases.
		value(t, b, chromedp.Evaluate[bool](`(window.berthNotReloaded = true)`))
		t0 := time.Now()
		b.run(t, 10*time.Minute, click("#machine-restart"), visible("#confirm-ok"), click("#confirm-ok"),
			waitText("#machine-phases", "stopping"),
			poll(`document.querySelector("#machine-phases").innerText.includes("starting (booting)") && document.querySelector("#machine-state").innerText === "running"`))
		phases := b.text(t, "#machine-phases")
		t.Logf("restarted from the page in %v: %s", time.Since(t0).Round(time.Second), phases)
		for _, want := range []string{"stopping", "stopped", "starting (preparing)", "starting (booting)", "starting (engine)", "running"} {
			if !strings.Contains(phases, want) {
				t.Errorf("the page's phases %q lack %q", phases, want)
			}
		}
		if !value(t, b, chromedp.Evaluate[bool](`window.berthNotReloaded === true`)) {
			t.Error("the page was reloaded")
		}
		after := e.status(t)
		if after.State != "running" || after.AgentPID != before.AgentPID || after.VMPID == before.VMPID || !pidAlive(after.VMPID) || pidAlive(before.VMPID) {
			t.Errorf("after the restart: %s, agent %d (was %d), VM %d (was %d)", after.State, after.AgentPID, before.AgentPID, after.VMPID, before.VMPID)
		}
		if again := strings.TrimSpace(e.mustBerth(t, "dashboard", "--no-open")); again != addr {
			t.Errorf("the dashboard's address changed: %s, was %s", again, addr)
		}
		if out := e.mustDocker(t, "run", "--rm", probeImage, "echo", "after-restart"); !strings.Contains(out, "after-restart") {
			t.Errorf("docker run after the restart: %q", out)
		}
		b.checkTimeline(t, after)
		value(t, b, chromedp.Evaluate[bool](`(document.querySelector("#machine-phases").scrollIntoView({block: "start"}), window.scrollBy(0, -60), true)`))
		b.shot(t, "dashboard-restart")
	})
}

// checkTimeline checks that the Machine view shows the last start's
// timeline as `berth status --json` has it: each of the agent's stages,
// and each step of the guest's boot.
func (b *browser) checkTimeline(t *testing.T, st status) {
	t.Helper()
	if st.Timeline == nil || len(st.Timeline.Stages) == 0 {
		t.Fatalf("berth status has no timeline: %+v", st)
	}
	acts := []chromedp.Action[chromedp.Void]{click(`nav a[data-view="machine"]`)}
	for _, s := range st.Timeline.Stages {
		acts = append(acts, visible(fmt.Sprintf(`#timeline-stages tr[data-stage=%q]`, s.Name)))
	}
	for _, m := range st.Timeline.Guest {
		acts = append(acts, visible(fmt.Sprintf(`#timeline-guest tr[data-mark=%q]`, m.Name)))
	}
	b.run(t, 20*time.Second, acts...)
	if len(st.Timeline.Guest) == 0 {
		t.Error("berth status has no guest boot marks")
	}
	var total float64
	for _, s := range st.Timeline.Stages {
		total += s.Seconds
	}
	want := fmt.Sprintf("Started in %.1fs", total)
	if got := b.text(t, "#timeline-stages th"); !strings.Contains(got, want) {
		t.Errorf("the timeline's head %q, want %q", got, want)
	}
}

// closePanel closes the side panel (logs, inspect, terminal) if it is open.
func (b *browser) closePanel(t *testing.T) {
	t.Helper()
	value(t, b, chromedp.Evaluate[bool](`(closePanel(), true)`))
}

// imagesSize is the engine's images' total size as the page's API says it
// (what `docker system df` shows).
func (b *browser) imagesSize(t *testing.T) float64 {
	t.Helper()
	return value(t, b, chromedp.Evaluate[float64](`fetch("/api/df").then(r => r.json()).then(j => j.rows.find(r => r.type === "Images").size)`,
		chromedp.EvalAwaitPromise))
}

// browser is one headless Chromium with a fresh profile.
type browser struct {
	ctx context.Context
	// close ends the browser (its cleanup does too).
	close func()
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The browser starts with the first action.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return &browser{ctx: ctx, close: func() { cancel(); cancelAlloc() }}
}

func (b *browser) run(t testing.TB, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(t, err)
	}
}

// value runs one action that gives a value.
func value[T any](t testing.TB, b *browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(t, err)
	}
	return v
}

func (b *browser) fail(t testing.TB, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
	t.Fatalf("in the browser: %v\nthe page's body:\n%s", err, tail([]byte(html), 4000))
}

func (b *browser) text(t testing.TB, sel string) string {
	t.Helper()
	return value(t, b, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) attr(t testing.TB, sel, name string) string {
	t.Helper()
	return value(t, b, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func (b *browser) location(t testing.TB) string {
	t.Helper()
	return value(t, b, chromedp.Location())
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}
func gone(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitNotPresent(chromedp.CSS(sel))
}
func keys(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), v)
}

// typeKeys types text into the element as a keyboard does: a raw key down
// and a char event per key (SendKeys's key down carries the text too, and
// xterm.js then sees each key twice).
func typeKeys(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(text, func(p *input.DispatchKeyEventParams) {
		if p.Type == input.DispatchKeyEventTypeKeyDown {
			p.Type = input.DispatchKeyEventTypeRawKeyDown
		}
	}))
}

// poll waits, as long as the step's context lets it, until the JavaScript
// expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Minute))
}

// shot writes a PNG of the window to $BERTH_SCREENSHOTS/NAME.png.
func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("BERTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	b.run(t, 5*time.Second, chromedp.Sleep(300*time.Millisecond))
	png := value(t, b, chromedp.CaptureScreenshot())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitText waits until the element's text contains s.
func waitText(sel, s string) chromedp.Action[chromedp.Void] {
	return poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.innerText.includes(%s); })()`,
		jsString(sel), jsString(s)))
}

// termOpen: the page's terminal is connected (its WebSocket open).
const termOpen = `typeof term !== "undefined" && term.ws !== null && term.ws.readyState === WebSocket.OPEN`

func jsString(s string) string { return fmt.Sprintf("%q", s) }

func lastLogLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

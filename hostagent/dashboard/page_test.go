package dashboard

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berth-dev/berth/hostagent/api"
)

// EnvBrowserTest, set to 1, runs the page's tests in a real browser
// (Debian's chromium, hack/deps-dashboard.txt): `make test-dashboard-page`.
const EnvBrowserTest = "BERTH_BROWSER_TEST"

// The Machine view's Stop, Start and Restart, in a real browser against a
// stand-in agent: Stop asks after a confirmation; the stopped machine (the
// agent standing by) shows a banner with Start; the phases of the start
// follow the agent's events, and the timeline comes with the running
// status; a restart the agent refuses for the config shows the problem
// next to its field.
func TestPageMachineActions(t *testing.T) {
	if os.Getenv(EnvBrowserTest) != "1" {
		t.Skip("drives a real browser: `make test-dashboard-page` (" + EnvBrowserTest + "=1)")
	}
	if _, err := os.Stat(benchChromium); err != nil {
		t.Fatalf("%s is needed (hack/deps-dashboard.txt): %v", benchChromium, err)
	}
	_, dial := newFakeEngine(t)
	agent := &fakeAgent{status: api.Status{Machine: "default", State: api.StateRunning}, events: make(chan api.Event, 16)}
	s, err := Start(Options{Agent: agent, Docker: dial, ConfigPath: "/home/u/.berth/config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(benchChromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900))
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The browser starts with the first action, and lives as long as its
	// context: this one, not a step's.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	run := func(d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, d)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("#view-machine")))
			t.Fatalf("in the browser: %v\n%s", err, html)
		}
	}
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Minute))
	}
	hasText := func(sel, s string) chromedp.Action[chromedp.Void] {
		return until(`(document.querySelector(` + jsQuote(sel) + `) || {}).innerText?.includes(` + jsQuote(s) + `)`)
	}
	status := func(st api.Status) { agent.events <- api.Event{Type: "status", Status: &st} }

	run(30*time.Second, chromedp.Navigate(s.URL()), chromedp.WaitVisible(chromedp.CSS("#containers")),
		chromedp.Click(chromedp.CSS(`nav a[data-view="machine"]`)), chromedp.WaitVisible(chromedp.CSS("#machine-stop")))

	// Stop, after the confirmation; the agent stands by, the page stays.
	run(10*time.Second, chromedp.Click(chromedp.CSS("#machine-stop")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")), chromedp.Click(chromedp.CSS("#confirm-ok")),
		until(`document.querySelector("#confirm").open === false`))
	waitFor(t, func() bool { agent.mu.Lock(); defer agent.mu.Unlock(); return agent.stops == 1 })
	status(api.Status{Machine: "default", State: api.StateStopping, Phase: "engine"})
	status(api.Status{Machine: "default", State: api.StateStopped, Standby: true})
	run(10*time.Second, chromedp.WaitVisible(chromedp.CSS("#machine-start")), chromedp.WaitNotVisible(chromedp.CSS("#machine-stop")),
		chromedp.Click(chromedp.CSS(`nav a[data-view="containers"]`)), chromedp.WaitVisible(chromedp.CSS("#banner-start")),
		chromedp.Click(chromedp.CSS("#banner-start")))
	waitFor(t, func() bool { agent.mu.Lock(); defer agent.mu.Unlock(); return slices.Contains(agent.calls, "start ") })

	// The start's phases (from the click on), as the events come; the
	// timeline with running.
	status(api.Status{Machine: "default", State: api.StateStarting, Phase: "booting"})
	status(api.Status{Machine: "default", State: api.StateRunning, Timeline: &api.Timeline{
		Stages: []api.Stage{{Name: "driver", Seconds: 4.3}, {Name: "engine", Seconds: 15}}}})
	run(10*time.Second, chromedp.WaitNotVisible(chromedp.CSS("#stopped-banner")), chromedp.Click(chromedp.CSS(`nav a[data-view="machine"]`)),
		hasText("#machine-phases", "starting (booting) → running"),
		hasText("#timeline-stages", "Started in 19.3s"), chromedp.WaitVisible(chromedp.CSS(`#timeline-stages tr[data-stage="engine"]`)))

	// A restart refused for the config: its problem next to its field.
	agent.mu.Lock()
	agent.refuse = &api.Error{Code: http.StatusBadRequest, Message: s.o.ConfigPath + ": cpus: 999 is out of range (1 to 2)"}
	agent.mu.Unlock()
	run(10*time.Second, chromedp.Click(chromedp.CSS("#machine-restart")), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")), chromedp.Click(chromedp.CSS("#confirm-ok")),
		hasText(`[data-error-for="cpus"]`, "cpus: 999 is out of range"), hasText("#machine-error", "restart: not done"))
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func jsQuote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

package tray

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/portfwd"
)

func enabled(t *testing.T, m Menu, id string) bool {
	t.Helper()
	it, ok := Find(m.Items, id)
	if !ok {
		t.Fatalf("no item %q", id)
	}
	return !it.Disabled && !it.Hidden
}

func TestBuildEveryState(t *testing.T) {
	type want struct {
		start, stop, restart, ports, shell bool
		status, detail                     string
	}
	cases := []struct {
		st    api.Status
		busy  bool
		progr string
		want  want
	}{
		{st: api.Status{State: api.StateStopped}, want: want{start: true, status: "Berth is stopped"}},
		{st: api.Status{}, want: want{start: true, status: "Berth is stopped"}},
		{st: api.Status{State: api.StateStarting, Phase: "booting"}, want: want{stop: true, status: "Berth is starting", detail: "Booting the VM…"}},
		{st: api.Status{State: api.StateStarting}, progr: "VM up; starting the engine...", want: want{stop: true, status: "Berth is starting", detail: "VM up; starting the engine..."}},
		{st: api.Status{State: api.StateRunning, EngineVersion: "26.1.5", Accelerator: "tcg"},
			want: want{stop: true, restart: true, ports: true, shell: true, status: "Berth is running · Docker 26.1.5 · tcg"}},
		{st: api.Status{State: api.StateRunning}, busy: true, want: want{ports: true, shell: true, status: "Berth is running"}},
		{st: api.Status{State: api.StateDegraded, EngineVersion: "26.1.5", Error: "engine metrics: bind failed\nmore"},
			want: want{stop: true, restart: true, ports: true, shell: true, status: "Berth is degraded · Docker 26.1.5", detail: "engine metrics: bind failed"}},
		// Paused by the resource saver: everything that reaches the
		// engine stays (it resumes the VM), Stop resumes it to stop.
		{st: api.Status{State: api.StatePaused, EngineVersion: "26.1.5", Accelerator: "tcg", PausedSince: time.Date(2026, 1, 1, 14, 3, 0, 0, time.Local)},
			want: want{stop: true, restart: true, ports: true, shell: true, status: "Berth is paused (resource saver) · Docker 26.1.5 · tcg",
				detail: "Nothing ran · paused since 14:03; the next docker command resumes it"}},
		{st: api.Status{State: api.StateStopping}, want: want{status: "Berth is stopping", detail: "Stopping the engine and the VM…"}},
		{st: api.Status{State: api.StateError, Error: "the VM exited"}, want: want{start: true, stop: true, restart: true, status: "Berth is error", detail: "the VM exited"}},
		{st: api.Status{State: api.StateError, Error: "x"}, busy: true, want: want{status: "Berth is error", detail: "x"}},
	}
	for _, c := range cases {
		name := string(c.st.State)
		if c.busy {
			name += "/busy"
		}
		t.Run(name, func(t *testing.T) {
			m := Build(Snapshot{GOOS: "linux", Status: c.st, Busy: c.busy, Progress: c.progr, Settings: DefaultSettings()})
			got := want{
				start: enabled(t, m, "start"), stop: enabled(t, m, "stop"), restart: enabled(t, m, "restart"),
				ports: enabled(t, m, "ports") && enabled(t, m, "ports-add") && enabled(t, m, "containers"),
				shell: enabled(t, m, "shell"),
			}
			// The dashboard is there whenever the shell is: both need the agent up.
			if enabled(t, m, "dashboard") != got.shell {
				t.Errorf("dashboard enabled %v, shell %v", !got.shell, got.shell)
			}
			st, _ := Find(m.Items, "status")
			got.status = st.Label
			if d, _ := Find(m.Items, "status-detail"); !d.Hidden {
				got.detail = d.Label
			}
			if got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
			wantIcon := c.st.State
			if wantIcon == "" {
				wantIcon = api.StateStopped
			}
			if m.Icon != wantIcon {
				t.Errorf("icon %q, want %q", m.Icon, wantIcon)
			}
			if !strings.HasPrefix(m.Tooltip, "Berth: "+stateWord(wantIcon)) {
				t.Errorf("tooltip %q", m.Tooltip)
			}
			for _, id := range []string{"settings", "about", "quit", "view-logs", "diagnose", "reset", "tray-settings"} {
				if !enabled(t, m, id) {
					t.Errorf("%s disabled in state %s", id, c.st.State)
				}
			}
		})
	}
}

func TestBuildWindowsOnly(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, id := range []string{"switch-engine", "windows-engine"} {
			it, _ := Find(Build(Snapshot{GOOS: goos}).Items, id)
			if it.Hidden != (goos != "windows") {
				t.Errorf("%s: %s hidden=%v", goos, id, it.Hidden)
			}
		}
	}
}

// The switch names the engine docker's default does not point at; the
// Windows engine's state is shown beside the machine's.
func TestBuildEngineSwitch(t *testing.T) {
	for _, c := range []struct {
		dflt, label, arg string
	}{{"", "Switch to Windows containers", "windows"}, {"linux", "Switch to Windows containers", "windows"}, {"windows", "Switch to Linux containers", "linux"}} {
		items := Build(Snapshot{GOOS: "windows", Status: running(), DefaultEngine: c.dflt, WindowsEngine: "running"}).Items
		it, _ := Find(items, "switch-engine")
		if it.Label != c.label || it.Action != (Action{Kind: ActSwitchEngine, Arg: c.arg}) || it.Disabled {
			t.Errorf("default %q: %+v", c.dflt, it)
		}
		if w, _ := Find(items, "windows-engine"); w.Label != "Windows engine: running" || !w.Disabled {
			t.Errorf("windows engine line: %+v", w)
		}
	}
	if w, _ := Find(Build(Snapshot{GOOS: "windows"}).Items, "windows-engine"); w.Label != "Windows engine: unknown" {
		t.Errorf("unknown windows engine: %+v", w)
	}
}

func running() api.Status { return api.Status{State: api.StateRunning} }

func TestBuildPorts(t *testing.T) {
	fs := []portfwd.Forward{
		{Proto: portfwd.TCP, HostIP: "0.0.0.0", HostPort: 8080, GuestPort: 8080, Source: portfwd.SourceDocker, Container: "web", ContainerID: "c1", State: portfwd.StateActive},
		{Proto: portfwd.TCP, HostIP: "127.0.0.1", HostPort: 5432, GuestPort: 5432, Source: portfwd.SourceDocker, Container: "db", ContainerID: "c2", State: portfwd.StateActive},
		{Proto: portfwd.TCP, HostIP: "::1", HostPort: 5432, GuestPort: 5432, Source: portfwd.SourceDocker, Container: "db", ContainerID: "c2", State: portfwd.StateFailed, Reason: "address in use"},
		{Proto: portfwd.UDP, HostIP: "127.0.0.1", HostPort: 5353, GuestPort: 53, Source: portfwd.SourceManual, Spec: "5353:53/udp", State: portfwd.StateActive},
		{Proto: portfwd.TCP, HostIP: "127.0.0.1", HostPort: 9000, GuestPort: 9000, Source: portfwd.SourceGuest, State: api.ForwardPaused},
		{Proto: portfwd.TCP, HostIP: "::1", HostPort: 9000, GuestPort: 9000, Source: portfwd.SourceGuest, State: api.ForwardPaused},
		{Proto: portfwd.TCP, HostIP: "192.0.2.7", HostPort: 443, GuestPort: 443, Source: portfwd.SourceDocker, Container: "tls", State: portfwd.StateActive},
	}
	cs := []engine.Container{
		{ID: "c1", Name: "web", Image: "nginx", State: "running", Ports: []engine.Port{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{ID: "c2", Name: "db", Image: "postgres:16", State: "running", Ports: []engine.Port{{HostPort: 5432, ContainerPort: 5432, Proto: "tcp"}}},
	}
	m := Build(Snapshot{GOOS: "linux", Status: running(), Forwards: fs, Containers: cs, Settings: DefaultSettings()})
	ports, _ := Find(m.Items, "ports")
	var labels []string
	for _, c := range ports.Children {
		labels = append(labels, c.Label)
	}
	want := []string{
		"Forward a port…", "",
		"tls — 192.0.2.7:443 → 443/tcp",
		"manual — localhost:5353 → 53/udp",
		"db (postgres:16) — localhost:5432 → 5432/tcp (failed)",
		"web (nginx) — localhost:8080 → 80/tcp",
		"VM — localhost:9000 → 9000/tcp (not forwarded)",
	}
	if strings.Join(labels, "\n") != strings.Join(want, "\n") {
		t.Fatalf("ports menu:\n%s\nwant:\n%s", strings.Join(labels, "\n"), strings.Join(want, "\n"))
	}
	checkItem := func(id, label string, kind ActionKind, arg string, disabled, hidden bool) {
		t.Helper()
		it, ok := Find(m.Items, id)
		if !ok {
			t.Fatalf("no %s", id)
		}
		if it.Label != label || it.Action.Kind != kind || it.Action.Arg != arg || it.Disabled != disabled || it.Hidden != hidden {
			t.Errorf("%s = %q %v %q disabled=%v hidden=%v; want %q %v %q %v %v", id, it.Label, it.Action.Kind, it.Action.Arg, it.Disabled, it.Hidden, label, kind, arg, disabled, hidden)
		}
	}
	checkItem("port/8080/tcp/open", "Open http://localhost:8080", ActOpenURL, "http://localhost:8080", false, false)
	checkItem("port/8080/tcp/copy", "Copy address", ActCopy, "localhost:8080", false, false)
	checkItem("port/8080/tcp/toggle", "Stop forwarding", ActPauseForward, "8080/tcp", false, false)
	checkItem("port/9000/tcp/toggle", "Forward again", ActResumeForward, "9000/tcp", false, false)
	checkItem("port/9000/tcp/open", "Open http://localhost:9000", ActOpenURL, "http://localhost:9000", true, false)
	checkItem("port/5353/udp/open", "Open ", ActOpenURL, "", false, true)
	checkItem("port/443/tcp/open", "Open https://192.0.2.7:443", ActOpenURL, "https://192.0.2.7:443", false, false)
	checkItem("port/5432/tcp/reason", "Failed: address in use", ActNone, "", true, false)

	empty := Build(Snapshot{Status: running()})
	if it, _ := Find(empty.Items, "ports-none"); it.Label != "No forwarded ports" || !it.Disabled {
		t.Errorf("empty ports menu: %+v", it)
	}
}

func TestBuildContainers(t *testing.T) {
	m := Build(Snapshot{Status: running(), Containers: []engine.Container{{ID: "abc", Name: "web", Image: "nginx", State: "running"}, {ID: "def", Name: "job", Image: "busybox", State: "restarting"}}})
	c, _ := Find(m.Items, "containers")
	if len(c.Children) != 2 || c.Children[0].Label != "web (nginx)" || c.Children[1].Label != "job (busybox) — restarting" {
		t.Fatalf("containers: %+v", c.Children)
	}
	for _, sub := range []struct {
		id   string
		kind ActionKind
	}{{"container/abc/stop", ActContainerStop}, {"container/abc/restart", ActContainerRestart}, {"container/abc/logs", ActContainerLogs}} {
		it, _ := Find(m.Items, sub.id)
		if it.Action.Kind != sub.kind || it.Action.Arg != "abc" {
			t.Errorf("%s: %+v", sub.id, it.Action)
		}
	}
	if it, _ := Find(Build(Snapshot{Status: running()}).Items, "containers-none"); it.Label != "No running containers" {
		t.Errorf("no containers: %+v", it)
	}
}

func TestBuildTraySettings(t *testing.T) {
	m := Build(Snapshot{Settings: Settings{StartEngine: false, OnQuit: OnQuitLeave}})
	sw, _ := Find(m.Items, "start-with-tray")
	if sw.Checked || sw.Action != (Action{Kind: ActSetStartWithTray, Arg: "true"}) {
		t.Errorf("start-with-tray: %+v", sw)
	}
	for id, want := range map[string]bool{"onquit-ask": false, "onquit-stop": false, "onquit-leave": true} {
		if it, _ := Find(m.Items, id); it.Checked != want || !it.Checkable {
			t.Errorf("%s checked=%v", id, it.Checked)
		}
	}
}

func TestForwardKey(t *testing.T) {
	p, n, err := ParseForwardKey(ForwardKey(portfwd.UDP, 53))
	if err != nil || p != portfwd.UDP || n != 53 {
		t.Fatalf("round trip: %v %v %v", p, n, err)
	}
	for _, bad := range []string{"", "x/tcp", "0/tcp", "70000/tcp"} {
		if _, _, err := ParseForwardKey(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestSettingsFile(t *testing.T) {
	p := t.TempDir() + "/" + SettingsFile
	s, err := LoadSettings(p)
	if err != nil || s != DefaultSettings() {
		t.Fatalf("missing file: %+v %v", s, err)
	}
	if err := SaveSettings(p, Settings{StartEngine: false, OnQuit: OnQuitStop}); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadSettings(p); err != nil || s != (Settings{OnQuit: OnQuitStop}) {
		t.Fatalf("saved: %+v %v", s, err)
	}
}

package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/hostagent/api"
)

func summary(id, name, state, status string, labels map[string]string, ports ...map[string]any) map[string]any {
	return map[string]any{"Id": id, "Names": []string{"/" + name}, "Image": "busybox", "State": state,
		"Status": status, "Created": 1700000000, "Labels": labels, "Ports": ports}
}

func TestContainersGrouped(t *testing.T) {
	f, dial := newFakeEngine(t)
	f.containers = []map[string]any{
		summary("c1", "solo", "exited", "Exited (0) 2 minutes ago", nil),
		summary("c2", "shop-web-1", "running", "Up 3 minutes (healthy)",
			map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "web"},
			map[string]any{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
			map[string]any{"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
			map[string]any{"IP": "127.0.0.1", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"},
			map[string]any{"PrivatePort": 443, "Type": "tcp"}),
		summary("c3", "shop-db-1", "running", "Up 3 minutes",
			map[string]string{"com.docker.compose.project": "shop", "com.docker.compose.service": "db"},
			map[string]any{"IP": "::1", "PrivatePort": 5432, "PublicPort": 5432, "Type": "tcp"}),
		summary("c4", "api-1", "running", "Up 1 second (health: starting)", map[string]string{"com.docker.compose.project": "api"}),
	}
	_, p := startPage(t, f, dial, &fakeAgent{})
	code, body := p.do("GET", "/api/containers")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	var groups []Group
	if err := json.Unmarshal(body, &groups); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		for _, c := range g.Containers {
			got = append(got, g.Project+"/"+c.Name+":"+c.State+":"+c.Health)
		}
	}
	want := []string{"api/api-1:running:starting", "shop/shop-db-1:running:", "shop/shop-web-1:running:healthy", "/solo:exited:"}
	if !slices.Equal(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
	web := groups[1].Containers[1]
	wantPorts := []Port{
		{HostIP: "127.0.0.1", HostPort: 5353, ContainerPort: 53, Proto: "udp"},
		{HostIP: "0.0.0.0", HostPort: 8080, ContainerPort: 80, Proto: "tcp", URL: "http://127.0.0.1:8080/"},
	}
	if fmt.Sprint(web.Ports) != fmt.Sprint(wantPorts) || web.Service != "web" {
		t.Errorf("ports %+v (service %q), want %+v: one link per published port, none for an unpublished one", web.Ports, web.Service, wantPorts)
	}
	if db := groups[1].Containers[0]; len(db.Ports) != 1 || db.Ports[0].URL != "http://[::1]:5432/" {
		t.Errorf("a port published on ::1: %+v", db.Ports)
	}
}

func TestContainerActions(t *testing.T) {
	f, dial := newFakeEngine(t)
	f.inspect["c1"] = map[string]any{"Id": "c1", "Name": "/web", "Config": map[string]any{"Image": "busybox", "Tty": false}}
	_, p := startPage(t, f, dial, &fakeAgent{})
	for _, a := range []string{"start", "stop", "restart"} {
		if code, body := p.do("POST", "/api/containers/c1/"+a); code != http.StatusNoContent {
			t.Errorf("%s: %d %s", a, code, body)
		}
	}
	if code, body := p.do("DELETE", "/api/containers/c1"); code != http.StatusNoContent {
		t.Errorf("remove: %d %s", code, body)
	}
	if code, body := p.do("POST", "/api/containers/c1/explode"); code != http.StatusNotFound || !strings.Contains(string(body), "not start, stop or restart") {
		t.Errorf("unknown action: %d %s", code, body)
	}
	if code, body := p.do("POST", "/api/containers/nope/start"); code != http.StatusNotFound || !strings.Contains(string(body), "No such container: nope") {
		t.Errorf("unknown container: %d %s; want the engine's 404 and message", code, body)
	}
	if want := []string{"start c1", "stop c1", "restart c1", "remove c1 force=1"}; !slices.Equal(f.callLog(), want) {
		t.Errorf("engine calls %q, want %q", f.callLog(), want)
	}
	code, body := p.do("GET", "/api/containers/c1/inspect")
	var ins map[string]any
	if code != http.StatusOK || json.Unmarshal(body, &ins) != nil || ins["Name"] != "/web" {
		t.Errorf("inspect: %d %s", code, body)
	}
	// Without the page's Origin (another program, or a form of another
	// site), nothing changes.
	req, _ := http.NewRequest("POST", p.base+"/api/containers/c1/stop", nil)
	resp, err := p.hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a POST without Origin: %v %v", resp, err)
	}
	if len(f.callLog()) != 4 {
		t.Errorf("engine calls after refused requests: %q", f.callLog())
	}
}

// 100k lines of logs, stdout and stderr interleaved, arrive in order and
// in batches (not one event each); the engine is asked to follow, with
// timestamps ("all" is no tail at all); a TTY container's logs are read raw.
func TestLogs(t *testing.T) {
	f, dial := newFakeEngine(t)
	f.inspect["c1"] = map[string]any{"Id": "c1", "Config": map[string]any{"Tty": false}}
	f.inspect["t1"] = map[string]any{"Id": "t1", "Config": map[string]any{"Tty": true}}
	const n = 100000
	var raw []byte
	for i := range n {
		stream := byte(1 + i%2)
		raw = append(raw, frame(stream, fmt.Sprintf("2026-01-01T00:00:00.000000000Z line %d\n", i))...)
	}
	f.logs["c1"] = raw
	f.logs["t1"] = []byte("2026-01-01T00:00:00Z tty one\r\n2026-01-01T00:00:01Z tty two\n")
	_, p := startPage(t, f, dial, &fakeAgent{})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	next := p.sse(ctx, q("/api/containers/c1/logs", "tail", "all"))
	var lines []string
	events := 0
	for {
		ev, data := next()
		if ev == "end" || ev == "" {
			break
		}
		var batch []string
		if err := json.Unmarshal([]byte(data), &batch); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, batch...)
		events++
	}
	took := time.Since(began)
	if len(lines) != n || lines[0] != "2026-01-01T00:00:00.000000000Z line 0" || lines[n-1] != fmt.Sprintf("2026-01-01T00:00:00.000000000Z line %d", n-1) {
		t.Fatalf("%d lines (first %q)", len(lines), lines[:min(1, len(lines))])
	}
	for i, l := range lines {
		if !strings.HasSuffix(l, fmt.Sprintf(" line %d", i)) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	if events > n/100 {
		t.Errorf("%d events for %d lines: not batched", events, n)
	}
	t.Logf("%d lines in %d events, %s", n, events, took)
	if want := "logs c1 follow=1 timestamps=1 tail="; !slices.Contains(f.callLog(), want) {
		t.Errorf("engine calls %q, want %q", f.callLog(), want)
	}

	next = p.sse(ctx, "/api/containers/t1/logs")
	ev, data := next()
	if ev != "lines" || !strings.Contains(data, "tty one") || !strings.Contains(data, "tty two") {
		t.Errorf("tty logs: %s %s", ev, data)
	}
	if code, body := p.do("GET", q("/api/containers/c1/logs", "tail", "lots")); code != http.StatusBadRequest || !strings.Contains(string(body), "tail") {
		t.Errorf("bad tail: %d %s", code, body)
	}
	if code, _ := p.do("GET", "/api/containers/gone/logs"); code != http.StatusNotFound {
		t.Errorf("logs of an unknown container: %d", code)
	}
}

// The page's one stream: the machine's status first, "containers" and
// "resources" once the engine's events are followed and after each
// container or image (volume, network) event, the
// agent's other events as they come. Closing the page ends the engine
// subscription, and the last page's closing the client's idle connections
// to the engine: nothing is held for a page that is not open.
func TestEvents(t *testing.T) {
	f, dial := newFakeEngine(t)
	agent := &fakeAgent{status: api.Status{Machine: "default", State: api.StateRunning}, events: make(chan api.Event, 4)}
	s, p := startPage(t, f, dial, agent)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sctx, closePage := context.WithCancel(ctx)
	next := p.sse(sctx, "/api/events")
	seen := map[string]string{}
	waitEvent := func(want string) string {
		t.Helper()
		for {
			ev, data := next()
			if ev == "" {
				t.Fatalf("the stream ended before a %q event (saw %v)", want, seen)
			}
			seen[ev] = data
			if ev == want {
				return data
			}
		}
	}
	// The first three come in any order.
	for _, first := range []string{"status", "containers", "resources"} {
		if _, ok := seen[first]; !ok {
			waitEvent(first)
		}
	}
	if data := seen["status"]; !strings.Contains(data, `"state":"running"`) {
		t.Errorf("first status %s", data)
	}
	f.event("container start c1")
	waitEvent("containers")
	f.event("image delete sha256:aaa")
	waitEvent("resources")
	agent.events <- api.Event{Type: "status", Status: &api.Status{State: api.StateStopping}}
	if data := waitEvent("status"); !strings.Contains(data, `"state":"stopping"`) {
		t.Errorf("status %s", data)
	}
	if f.subs() != 1 {
		t.Errorf("%d engine event streams while one page is open", f.subs())
	}
	if n, _ := s.Pages(); n != 1 {
		t.Errorf("%d pages open, want 1", n)
	}
	// The page's lists leave the client's connections idle in its pool.
	if code, body := p.do("GET", "/api/containers"); code != http.StatusOK {
		t.Fatalf("/api/containers: %d %s", code, body)
	}
	closePage()
	deadline := time.Now().Add(5 * time.Second)
	pagesOpen := func() int { n, _ := s.Pages(); return n }
	for (f.subs() != 0 || pagesOpen() != 0 || f.conns() != 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if f.subs() != 0 {
		t.Errorf("%d engine event streams after the page closed", f.subs())
	}
	if n, _ := s.Pages(); n != 0 {
		t.Errorf("%d pages open after the page closed", n)
	}
	if n := f.conns(); n != 0 {
		t.Errorf("%d connections to the engine left open after the last page closed", n)
	}
	if code, _ := p.do("POST", "/api/machine/stop"); code != http.StatusAccepted || agent.stops != 1 {
		t.Errorf("stop: %d, %d stops", code, agent.stops)
	}
}

// The page itself and its assets come from the binary, and only with the
// cookie.
func TestAssets(t *testing.T) {
	f, dial := newFakeEngine(t)
	s, p := startPage(t, f, dial, &fakeAgent{})
	for _, path := range []string{"/", "/app.js", "/app.css"} {
		code, body := p.do("GET", path)
		if code != http.StatusOK || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", path, code, len(body))
		}
		if strings.Contains(string(body), "https://") {
			t.Errorf("%s refers to the internet", path)
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", s.Port(), path))
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without the cookie: %v %v", path, resp, err)
		}
	}
}

func TestPortURL(t *testing.T) {
	for _, tc := range []struct {
		ip, proto string
		port      int
		want      string
	}{
		{"0.0.0.0", "tcp", 80, "http://127.0.0.1:80/"},
		{"", "tcp", 8080, "http://127.0.0.1:8080/"},
		{"::", "tcp", 8080, "http://127.0.0.1:8080/"},
		{"::1", "tcp", 8080, "http://[::1]:8080/"},
		{"192.168.1.5", "tcp", 8080, "http://127.0.0.1:8080/"},
		{"0.0.0.0", "udp", 53, ""},
		{"0.0.0.0", "tcp", 0, ""},
	} {
		if got := portURL(tc.ip, tc.port, tc.proto); got != tc.want {
			t.Errorf("portURL(%q, %d, %s) = %q, want %q", tc.ip, tc.port, tc.proto, got, tc.want)
		}
	}
}

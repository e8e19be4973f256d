package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/portfwd"
)

// fakeEngine is a stand-in for dockerd: the few Docker API endpoints the
// dashboard uses, answering as the engine does (API 1.47), with a log of
// the calls that change something.
type fakeEngine struct {
	mu         sync.Mutex
	containers []map[string]any // as /containers/json gives them
	inspect    map[string]map[string]any
	logs       map[string][]byte // the raw /logs body per container
	calls      []string
	eventSubs  map[chan string]bool // open /events streams
	images     []map[string]any
	df         map[string]any // the /system/df answer
	// open counts the client's connections not closed yet, idle or not.
	open int
}

func (f *fakeEngine) json(w http.ResponseWriter, v any) {
	f.mu.Lock()
	b, _ := json.Marshal(v)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

var apiPrefix = regexp.MustCompile(`^/v1\.\d+`)

func newFakeEngine(t testing.TB) (*fakeEngine, func(ctx context.Context) (net.Conn, error)) {
	f := &fakeEngine{inspect: map[string]map[string]any{}, logs: map[string][]byte{}, eventSubs: map[chan string]bool{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch st {
		case http.StateNew:
			f.open++
		case http.StateClosed, http.StateHijacked:
			f.open--
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	return f, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

func (f *fakeEngine) call(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeEngine) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// conns is how many of the client's connections are open, idle or not.
func (f *fakeEngine) conns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func (f *fakeEngine) subs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.eventSubs)
}

// event sends "TYPE ACTION ID" to every open /events stream.
func (f *fakeEngine) event(ev string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.eventSubs {
		ch <- ev
	}
}

func (f *fakeEngine) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.47")
	path := apiPrefix.ReplaceAllString(r.URL.Path, "")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	notFound := func(id string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"No such container: %s"}`, id)
	}
	switch {
	case path == "/_ping":
		_, _ = io.WriteString(w, "OK")
	case r.Method == "GET" && path == "/containers/json":
		if r.URL.Query().Get("all") != "1" {
			http.Error(w, "the dashboard lists all containers", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		b, _ := json.Marshal(f.containers)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	case r.Method == "GET" && path == "/events":
		f.mu.Lock()
		sub := make(chan string, 16)
		f.eventSubs[sub] = true
		f.mu.Unlock()
		defer func() { f.mu.Lock(); delete(f.eventSubs, sub); f.mu.Unlock() }()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-sub: // "TYPE ACTION ID"
				var typ, action, id string
				fmt.Sscan(ev, &typ, &action, &id)
				fmt.Fprintf(w, `{"Type":%q,"Action":%q,"Actor":{"ID":%q},"time":%d}`+"\n", typ, action, id, time.Now().Unix())
				w.(http.Flusher).Flush()
			}
		}
	case len(parts) == 3 && parts[0] == "containers" && r.Method == "POST" && parts[2] != "exec":
		f.mu.Lock()
		_, ok := f.inspect[parts[1]]
		f.mu.Unlock()
		if !ok {
			notFound(parts[1])
			return
		}
		f.call(parts[2] + " " + parts[1])
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 2 && parts[0] == "containers" && r.Method == "DELETE":
		f.call("remove " + parts[1] + " force=" + r.URL.Query().Get("force"))
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 3 && parts[0] == "containers" && parts[2] == "json":
		f.mu.Lock()
		ins, ok := f.inspect[parts[1]]
		f.mu.Unlock()
		if !ok {
			notFound(parts[1])
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ins)
	case len(parts) == 3 && parts[0] == "containers" && parts[2] == "logs":
		q := r.URL.Query()
		f.call(fmt.Sprintf("logs %s follow=%s timestamps=%s tail=%s", parts[1], q.Get("follow"), q.Get("timestamps"), q.Get("tail")))
		f.mu.Lock()
		b := f.logs[parts[1]]
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		_, _ = w.Write(b)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "containers" && parts[2] == "exec":
		var req struct {
			Cmd []string
			Tty bool
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		f.call(fmt.Sprintf("exec %s tty=%v %q", parts[1], req.Tty, req.Cmd))
		f.json(w, map[string]string{"Id": "e1"})
	case r.Method == "POST" && path == "/exec/e1/start":
		// Hijacked, as the engine does: an echo of the input, as a pty
		// with echo on would.
		_, _ = io.Copy(io.Discard, r.Body) // the start request's options
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n$ ")
		_ = brw.Flush()
		buf := make([]byte, 1024)
		for {
			n, err := brw.Read(buf)
			if err != nil {
				f.call("exec input closed")
				return
			}
			in := string(buf[:n])
			_, _ = brw.WriteString(in)
			if strings.Contains(in, "exit") {
				_ = brw.Flush()
				return
			}
			if strings.HasSuffix(in, "\r") {
				_, _ = brw.WriteString("\nran " + strings.TrimSpace(in) + "\r\n$ ")
			}
			_ = brw.Flush()
		}
	case r.Method == "POST" && path == "/exec/e1/resize":
		f.call("resize h=" + r.URL.Query().Get("h") + " w=" + r.URL.Query().Get("w"))
	case r.Method == "GET" && path == "/exec/e1/json":
		f.json(w, map[string]any{"ID": "e1", "ExitCode": 3})
	case r.Method == "GET" && path == "/images/json":
		f.json(w, f.images)
	case r.Method == "DELETE" && len(parts) == 2 && parts[0] == "images":
		f.mu.Lock()
		n := len(f.images)
		f.images = slices.DeleteFunc(f.images, func(im map[string]any) bool { return im["Id"] == parts[1] })
		gone := n != len(f.images)
		f.mu.Unlock()
		if !gone {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"message":"conflict: unable to delete `+parts[1]+` (must be forced) - image is being used by stopped container c1"}`)
			return
		}
		f.call("rmi " + parts[1])
		f.json(w, []map[string]string{{"Deleted": parts[1]}})
	case r.Method == "POST" && path == "/images/prune":
		f.call("image prune " + r.URL.Query().Get("filters"))
		f.json(w, map[string]any{"ImagesDeleted": []map[string]string{{"Deleted": "sha256:dangling"}}, "SpaceReclaimed": 1000})
	case r.Method == "POST" && path == "/build/prune":
		f.call("build prune all=" + r.URL.Query().Get("all"))
		f.json(w, map[string]any{"CachesDeleted": []string{"cache1"}, "SpaceReclaimed": 500})
	case r.Method == "POST" && path == "/volumes/prune":
		f.call("volume prune " + r.URL.Query().Get("filters"))
		f.json(w, map[string]any{"VolumesDeleted": []string{"old"}, "SpaceReclaimed": 42})
	case r.Method == "DELETE" && len(parts) == 2 && parts[0] == "volumes":
		f.call("volume rm " + parts[1])
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "GET" && path == "/networks":
		f.json(w, []map[string]any{{"Name": "bridge", "Id": "n1", "Driver": "bridge", "Scope": "local",
			"IPAM": map[string]any{"Config": []map[string]any{{"Subnet": "172.17.0.0/16"}}}}})
	case r.Method == "GET" && path == "/system/df":
		f.json(w, f.df)
	default:
		http.Error(w, "the stand-in does not know "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
	}
}

// frame is one frame of the engine's multiplexed log stream.
func frame(stream byte, payload string) []byte {
	h := make([]byte, 8, 8+len(payload))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

// fakeAgent is the control API as the dashboard uses it.
type fakeAgent struct {
	mu       sync.Mutex
	status   api.Status
	stops    int
	events   chan api.Event
	forwards []portfwd.Forward
	calls    []string
	// refuse is what Start and Restart return.
	refuse error
}

func (a *fakeAgent) call(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, s)
}

// Exec is a guest shell: a prompt, its input echoed with "ran ...", exit
// status 7 on "exit"; resizes are logged.
func (a *fakeAgent) Exec(_ context.Context, req agentapi.ExecRequest) (net.Conn, error) {
	a.call(fmt.Sprintf("exec tty=%v %dx%d %s", req.TTY, req.Cols, req.Rows, req.Term))
	host, guest := net.Pipe()
	go func() {
		defer guest.Close()
		out := func(s string) { _ = agentapi.WriteFrame(guest, agentapi.FrameOutput, []byte(s)) }
		out("vm$ ")
		for {
			typ, p, err := agentapi.ReadFrame(guest)
			if err != nil {
				return
			}
			switch typ {
			case agentapi.FrameResize:
				a.call(fmt.Sprintf("resize %d rows %d cols", binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])))
			case agentapi.FrameStdin:
				if strings.Contains(string(p), "exit") {
					_ = agentapi.WriteFrame(guest, agentapi.FrameExit, agentapi.ExitFrame(7))
					return
				}
				out(string(p) + "\r\nran " + strings.TrimSpace(string(p)) + "\r\nvm$ ")
			}
		}
	}()
	return host, nil
}

func (a *fakeAgent) Forwards(context.Context) ([]portfwd.Forward, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.forwards), nil
}

func (a *fakeAgent) AddForward(_ context.Context, spec string) ([]portfwd.Forward, error) {
	a.call("add " + spec)
	return nil, nil
}

func (a *fakeAgent) RemoveForward(_ context.Context, spec string) error {
	a.call("remove " + spec)
	return nil
}

func (a *fakeAgent) PauseForward(_ context.Context, proto portfwd.Proto, port int) error {
	a.call(fmt.Sprintf("pause %d/%s", port, proto))
	return nil
}

func (a *fakeAgent) ResumeForward(_ context.Context, proto portfwd.Proto, port int) error {
	a.call(fmt.Sprintf("resume %d/%s", port, proto))
	return nil
}

func (a *fakeAgent) Status(context.Context) (*api.Status, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.status
	return &st, nil
}

func (a *fakeAgent) Events(ctx context.Context, fn func(api.Event) error) error {
	st, _ := a.Status(ctx)
	if err := fn(api.Event{Type: "status", Status: st}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-a.events:
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}

func (a *fakeAgent) StopStandby(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stops++
	return nil
}

func (a *fakeAgent) Start(_ context.Context, req api.StartRequest) error {
	a.call("start " + req.Driver + req.Accel)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refuse
}

func (a *fakeAgent) Restart(context.Context) error {
	a.call("restart")
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refuse
}

// page is a browser of the dashboard: it has made the first load and
// holds the cookie; it sends the page's Origin.
type page struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func startPage(t *testing.T, f *fakeEngine, dial func(context.Context) (net.Conn, error), agent Agent) (*Server, *page) {
	t.Helper()
	s, err := Start(Options{Agent: agent, Docker: dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	jar, _ := cookiejar.New(nil)
	p := &page{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", s.Port()), hc: &http.Client{Jar: jar}}
	resp, err := p.hc.Get(s.URL())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first load: %v %v", resp, err)
	}
	resp.Body.Close()
	return s, p
}

func (p *page) do(method, path string) (int, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+path, nil)
	req.Header.Set("Origin", p.base)
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// sse opens an event stream; next returns its events one by one.
func (p *page) sse(ctx context.Context, path string) func() (event, data string) {
	p.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("%s: %s", path, resp.Status)
	}
	p.t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	return func() (string, string) {
		var ev, data string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return "", ""
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "" && ev != "":
				return ev, data
			case strings.HasPrefix(line, "event: "):
				ev = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				data = line[len("data: "):]
			}
		}
	}
}

// The query form of a path, for a test's readability.
func q(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// startPageOn makes the first load of a server the test started itself.
func startPageOn(t *testing.T, s *Server, _ *fakeEngine) (*Server, *page) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	p := &page{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", s.Port()), hc: &http.Client{Jar: jar}}
	resp, err := p.hc.Get(s.URL())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first load: %v %v", resp, err)
	}
	resp.Body.Close()
	return s, p
}

func (p *page) post(path string, body []byte) (int, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.base+path, bytes.NewReader(body))
	req.Header.Set("Origin", p.base)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func errorsJoin(lines ...string) error {
	var errs []error
	for _, l := range lines {
		errs = append(errs, errors.New(l))
	}
	return errors.Join(errs...)
}

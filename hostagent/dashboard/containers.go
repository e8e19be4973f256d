package dashboard

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Container is one row of the containers view.
type Container struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Image  string `json:"image"`
	State  string `json:"state"`  // running, exited, created, paused, restarting, dead
	Status string `json:"status"` // the engine's words: "Up 2 minutes (healthy)"
	// Health is healthy, unhealthy, starting, or "" without a health check.
	Health  string `json:"health,omitempty"`
	Created int64  `json:"created"` // Unix seconds
	Project string `json:"project,omitempty"`
	Service string `json:"service,omitempty"`
	Ports   []Port `json:"ports,omitempty"`
}

// Port is a published port; URL opens it in the browser (TCP only).
type Port struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Proto         string `json:"proto"`
	URL           string `json:"url,omitempty"`
}

// Group is a Compose project's containers; Project "" holds the others.
type Group struct {
	Project    string      `json:"project"`
	Containers []Container `json:"containers"`
}

func toContainer(s container.Summary) Container {
	c := Container{
		ID: s.ID, Image: s.Image, State: string(s.State), Status: s.Status, Created: s.Created,
		Project: s.Labels["com.docker.compose.project"], Service: s.Labels["com.docker.compose.service"],
	}
	if len(s.Names) > 0 {
		c.Name = strings.TrimPrefix(s.Names[0], "/")
	}
	if s.Health != nil && s.Health.Status != container.NoHealthcheck {
		c.Health = string(s.Health.Status)
	} else {
		c.Health = healthFromStatus(s.Status)
	}
	seen := map[string]bool{}
	for _, p := range s.Ports {
		if p.PublicPort == 0 {
			continue
		}
		ip := ""
		if p.IP.IsValid() {
			ip = p.IP.String()
		}
		// Docker lists a port published on every address once for
		// IPv4 and once for IPv6: one link is enough.
		key := p.Type + "/" + strconv.Itoa(int(p.PublicPort)) + "/" + strconv.Itoa(int(p.PrivatePort)) + "/" + loopbackFor(ip)
		if seen[key] {
			continue
		}
		seen[key] = true
		c.Ports = append(c.Ports, Port{HostIP: ip, HostPort: int(p.PublicPort), ContainerPort: int(p.PrivatePort),
			Proto: p.Type, URL: portURL(ip, int(p.PublicPort), p.Type)})
	}
	slices.SortFunc(c.Ports, func(a, b Port) int {
		return cmp.Or(cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.Proto, b.Proto))
	})
	return c
}

// healthFromStatus reads the health an engine older than API 1.52 gives
// only in its status line ("Up 3 minutes (healthy)").
func healthFromStatus(status string) string {
	for _, h := range []string{"unhealthy", "healthy", "health: starting"} {
		if strings.Contains(status, "("+h+")") {
			return strings.TrimPrefix(h, "health: ")
		}
	}
	return ""
}

// loopbackFor is the host address a browser on this host reaches a port
// published on ip through: the loopback of the same family.
func loopbackFor(ip string) string {
	if ip == "::1" || (strings.Contains(ip, ":") && ip != "::") {
		return "[::1]"
	}
	return "127.0.0.1"
}

// portURL is the link of a published TCP port; Berth forwards every
// published port to the host's loopback at least.
func portURL(ip string, port int, proto string) string {
	if proto != "tcp" || port < 1 || port > 65535 {
		return ""
	}
	return "http://" + loopbackFor(ip) + ":" + strconv.Itoa(port) + "/"
}

// group sorts containers into their Compose projects, projects by name
// with the containers of none last, containers by name.
func group(cs []Container) []Group {
	by := map[string][]Container{}
	for _, c := range cs {
		by[c.Project] = append(by[c.Project], c)
	}
	out := make([]Group, 0, len(by))
	for p, list := range by {
		slices.SortFunc(list, func(a, b Container) int { return cmp.Compare(a.Name, b.Name) })
		out = append(out, Group{Project: p, Containers: list})
	}
	slices.SortFunc(out, func(a, b Group) int {
		if (a.Project == "") != (b.Project == "") {
			if a.Project == "" {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Project, b.Project)
	})
	return out
}

func (s *Server) containerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/containers", s.listContainers)
	mux.HandleFunc("POST /api/containers/{id}/{action}", s.containerAction)
	mux.HandleFunc("DELETE /api/containers/{id}", s.removeContainer)
	mux.HandleFunc("GET /api/containers/{id}/inspect", s.inspectContainer)
	mux.HandleFunc("GET /api/containers/{id}/logs", s.containerLogs)
	mux.HandleFunc("GET /api/containers/{id}/exec", s.containerTerminal)
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request) {
	res, err := s.ec.API().ContainerList(r.Context(), client.ContainerListOptions{All: true})
	if err != nil {
		engineError(w, err)
		return
	}
	cs := make([]Container, 0, len(res.Items))
	for _, it := range res.Items {
		cs = append(cs, toContainer(it))
	}
	writeJSON(w, http.StatusOK, group(cs))
}

func (s *Server) containerAction(w http.ResponseWriter, r *http.Request) {
	id, api := r.PathValue("id"), s.ec.API()
	var err error
	switch r.PathValue("action") {
	case "start":
		_, err = api.ContainerStart(r.Context(), id, client.ContainerStartOptions{})
	case "stop":
		_, err = api.ContainerStop(r.Context(), id, client.ContainerStopOptions{})
	case "restart":
		_, err = api.ContainerRestart(r.Context(), id, client.ContainerRestartOptions{})
	default:
		writeError(w, http.StatusNotFound, "action: "+strconv.Quote(r.PathValue("action"))+" is not start, stop or restart")
		return
	}
	if err != nil {
		engineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeContainer(w http.ResponseWriter, r *http.Request) {
	// Forced, as the page asked for confirmation: a running one is killed.
	_, err := s.ec.API().ContainerRemove(r.Context(), r.PathValue("id"), client.ContainerRemoveOptions{Force: true})
	if err != nil {
		engineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) inspectContainer(w http.ResponseWriter, r *http.Request) {
	res, err := s.ec.API().ContainerInspect(r.Context(), r.PathValue("id"), client.ContainerInspectOptions{})
	if err != nil {
		engineError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(res.Raw)
}

// Logs are sent in batches of up to this many lines (100k lines arrive in
// a few dozen events instead of 100k); a line is cut at logMaxLine.
const (
	logBatchLines = 5000
	logSettle     = 20 * time.Millisecond
	logMaxLine    = 256 << 10
)

// containerLogs follows a container's logs as server-sent events, each a
// JSON array of lines (with the engine's timestamps: the page shows or
// hides them). tail is the lines of history (default 1000, "all").
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, api := r.PathValue("id"), s.ec.API()
	ins, err := api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		engineError(w, err)
		return
	}
	tail := r.URL.Query().Get("tail")
	if tail == "" {
		tail = "1000"
	} else if _, err := strconv.Atoi(tail); err != nil && tail != "all" {
		writeError(w, http.StatusBadRequest, "tail: "+strconv.Quote(tail)+" is not a number of lines or \"all\"")
		return
	}
	rc, err := api.ContainerLogs(ctx, id, client.ContainerLogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true, Tail: tail,
	})
	if err != nil {
		engineError(w, err)
		return
	}
	defer rc.Close()
	var src io.Reader = rc
	if ins.Container.Config == nil || !ins.Container.Config.Tty {
		pr, pw := io.Pipe()
		go func() {
			_, err := stdcopy.StdCopy(pw, pw, rc)
			pw.CloseWithError(err)
		}()
		defer pr.Close()
		src = pr
	}
	sse, ok := newSSE(w)
	if !ok {
		return
	}
	q := newLineQueue()
	go q.fill(ctx, src)
	streamLines(ctx, sse, q)
}

// lineQueue holds the lines read and not sent yet: the reader adds, the
// stream takes them all at once, so no line costs a channel operation.
type lineQueue struct {
	mu    sync.Mutex
	lines []string
	done  bool
	ready chan struct{} // a line or the end is there
	room  chan struct{} // the stream took the lines
}

func newLineQueue() *lineQueue {
	return &lineQueue{ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// fill reads src's lines into the queue, waiting while it holds more than
// two events' worth. A line longer than logMaxLine is cut there.
func (q *lineQueue) fill(ctx context.Context, src io.Reader) {
	defer func() {
		q.mu.Lock()
		q.done = true
		q.mu.Unlock()
		signal(q.ready)
	}()
	br := bufio.NewReaderSize(src, 64<<10)
	var long []byte
	for {
		part, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < logMaxLine {
				long = append(long, part[:min(len(part), logMaxLine-len(long))]...)
			}
			continue
		}
		line := part
		if long != nil {
			line = append(long, part[:min(len(part), max(0, logMaxLine-len(long)))]...)
			long = nil
		}
		if len(line) > 0 {
			q.mu.Lock()
			q.lines = append(q.lines, strings.TrimRight(string(line), "\r\n"))
			full := len(q.lines) >= 2*logBatchLines
			q.mu.Unlock()
			signal(q.ready)
			for full {
				select {
				case <-q.room:
				case <-ctx.Done():
					return
				}
				q.mu.Lock()
				full = len(q.lines) >= 2*logBatchLines
				q.mu.Unlock()
			}
		}
		if err != nil {
			return
		}
	}
}

// take returns up to logBatchLines lines, and whether the log ended and
// everything was taken.
func (q *lineQueue) take() ([]string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.lines), logBatchLines)
	out := q.lines[:n:n]
	q.lines = q.lines[n:]
	if len(q.lines) > 0 {
		signal(q.ready)
	}
	signal(q.room)
	return out, q.done && len(q.lines) == 0
}

// streamLines sends the queue's lines as "lines" events: what arrives
// within logSettle of the first joins it (a followed log's line waits no
// longer), up to logBatchLines; then "end" when the log ends.
func streamLines(ctx context.Context, sse *sseWriter, q *lineQueue) {
	caughtUp := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.ready:
		}
		// Behind (the last event was full), the next one goes at once.
		if caughtUp && !sleep(ctx, logSettle) {
			return
		}
		lines, ended := q.take()
		caughtUp = len(lines) < logBatchLines
		if len(lines) > 0 && sse.send("lines", lines) != nil {
			return
		}
		if ended {
			_ = sse.send("end", nil)
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

// engineError passes the engine's answer on: its message, and its code
// where the page can act on it.
func engineError(w http.ResponseWriter, err error) {
	code := http.StatusBadGateway
	switch {
	case cerrdefs.IsNotFound(err):
		code = http.StatusNotFound
	case cerrdefs.IsConflict(err):
		code = http.StatusConflict
	case cerrdefs.IsInvalidArgument(err):
		code = http.StatusBadRequest
	case client.IsErrConnectionFailed(err):
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, err.Error())
}

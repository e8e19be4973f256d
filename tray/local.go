package tray

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/portfwd"
	"github.com/berth-dev/berth/store"
)

// LocalAgent is the machine's real host agent: the control API for what
// runs, hostagent/lifecycle for start and stop, as the CLI does.
type LocalAgent struct {
	Machine store.Machine
	// BerthExe runs as `berth hostagent`; ImageDir holds the guest image.
	BerthExe string
	ImageDir string

	once   sync.Once
	client *api.Client
}

var _ Agent = (*LocalAgent)(nil)

func (l *LocalAgent) c() *api.Client {
	l.once.Do(func() { l.client = api.NewClient(l.Machine.AgentSocket()) })
	return l.client
}

func (l *LocalAgent) Events(ctx context.Context, fn func(api.Event) error) error {
	return l.c().Events(ctx, fn)
}

func (l *LocalAgent) Forwards(ctx context.Context) ([]portfwd.Forward, error) {
	return l.c().Forwards(ctx)
}

func (l *LocalAgent) AddForward(ctx context.Context, spec string) error {
	_, err := l.c().AddForward(ctx, spec)
	return err
}

func (l *LocalAgent) PauseForward(ctx context.Context, proto portfwd.Proto, port int) error {
	return l.c().PauseForward(ctx, proto, port)
}

func (l *LocalAgent) ResumeForward(ctx context.Context, proto portfwd.Proto, port int) error {
	return l.c().ResumeForward(ctx, proto, port)
}

// Start does what `berth start` does (lifecycle.Up).
func (l *LocalAgent) Start(ctx context.Context, progress func(string)) error {
	pw := &lineWriter{fn: progress}
	_, err := lifecycle.Up(ctx, lifecycle.UpOptions{
		StartOptions: lifecycle.StartOptions{Machine: l.Machine, Exe: l.BerthExe, ImageDir: l.ImageDir, Progress: pw},
		ConfigPath:   filepath.Join(filepath.Dir(l.Machine.Dir), config.FileName),
		Warnings:     pw,
	})
	return err
}

func (l *LocalAgent) Stop(ctx context.Context) error {
	_, err := lifecycle.Stop(ctx, lifecycle.StopOptions{Machine: l.Machine, ImageDir: l.ImageDir, Progress: io.Discard})
	return err
}

// lineWriter hands each written line to fn.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.fn(line)
		}
		w.buf = w.buf[i+1:]
	}
}

// DockerEngine speaks the Docker API over the machine's docker socket (a
// named pipe on Windows), by hand: three calls do not justify the SDK.
type DockerEngine struct {
	Machine store.Machine
	once    sync.Once
	hc      *http.Client
}

var _ Engine = (*DockerEngine)(nil)

func (d *DockerEngine) client() *http.Client {
	d.once.Do(func() {
		d.hc = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return sockets.Dial(ctx, d.Machine.DockerSocket())
			},
		}}
	})
	return d.hc
}

func (d *DockerEngine) DockerHost() string { return d.Machine.DockerHost() }

type dockerContainer struct {
	ID    string   `json:"Id"`
	Names []string `json:"Names"`
	Image string   `json:"Image"`
	State string   `json:"State"`
	Ports []struct {
		PrivatePort int    `json:"PrivatePort"`
		PublicPort  int    `json:"PublicPort"`
		Type        string `json:"Type"`
	} `json:"Ports"`
}

func (d *DockerEngine) Containers(ctx context.Context) ([]Container, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/containers/json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing containers: %s", resp.Status)
	}
	var dcs []dockerContainer
	if err := json.NewDecoder(resp.Body).Decode(&dcs); err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]Container, 0, len(dcs))
	for _, dc := range dcs {
		c := Container{ID: dc.ID, Image: dc.Image, State: dc.State}
		if len(dc.Names) > 0 {
			c.Name = strings.TrimPrefix(dc.Names[0], "/")
		}
		for _, p := range dc.Ports {
			if p.PublicPort != 0 {
				c.Ports = append(c.Ports, ContainerPort{HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Proto: p.Type})
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func (d *DockerEngine) Watch(ctx context.Context, changed func()) error {
	f, _ := json.Marshal(map[string][]string{"type": {"container"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/events?filters="+url.QueryEscape(string(f)), nil)
	if err != nil {
		return err
	}
	resp, err := d.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("engine events: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		changed()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

func (d *DockerEngine) ContainerAction(ctx context.Context, id, action string) error {
	if action != "stop" && action != "restart" && action != "start" {
		return fmt.Errorf("container action %q", action)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker/containers/"+url.PathEscape(id)+"/"+action, nil)
	if err != nil {
		return err
	}
	resp, err := d.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotModified {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s container: %s: %s", action, resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

package tray

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/lifecycle"
	"github.com/berth-dev/berth/internal/dockercontext"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engineswitch"
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

func (l *LocalAgent) Dashboard(ctx context.Context) (string, error) {
	return l.c().Dashboard(ctx)
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

func (l *LocalAgent) Stop(ctx context.Context, save bool) error {
	_, err := lifecycle.Stop(ctx, lifecycle.StopOptions{Machine: l.Machine, ImageDir: l.ImageDir, Progress: io.Discard, NoSave: !save})
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

// DockerEngine is the engine behind the machine's docker socket (a named
// pipe on Windows), as the user's docker CLI reaches it.
type DockerEngine struct {
	Machine store.Machine
	once    sync.Once
	ec      *engine.Client
	err     error
}

var _ Engine = (*DockerEngine)(nil)

func (d *DockerEngine) client() (*engine.Client, error) {
	d.once.Do(func() {
		d.ec, d.err = engine.New(func(ctx context.Context) (net.Conn, error) {
			return sockets.Dial(ctx, d.Machine.DockerSocket())
		})
	})
	return d.ec, d.err
}

func (d *DockerEngine) DockerHost() string { return d.Machine.DockerHost() }

func (d *DockerEngine) Containers(ctx context.Context) ([]engine.Container, error) {
	ec, err := d.client()
	if err != nil {
		return nil, err
	}
	return ec.Containers(ctx)
}

func (d *DockerEngine) Watch(ctx context.Context, changed func()) error {
	ec, err := d.client()
	if err != nil {
		return err
	}
	stream, err := ec.Events(ctx, engine.EventFilter{Types: []string{"container"}})
	if err != nil {
		return err
	}
	defer stream.Close()
	for {
		if _, err := stream.Next(); err != nil {
			return err
		}
		changed()
	}
}

func (d *DockerEngine) ContainerAction(ctx context.Context, id, action string) error {
	ec, err := d.client()
	if err != nil {
		return err
	}
	switch action {
	case "stop":
		return ec.Stop(ctx, id)
	case "restart":
		return ec.Restart(ctx, id)
	}
	return fmt.Errorf("container action %q", action)
}

// LocalEngines is Engines for machine m: lifecycle.SwitchEngine, the
// docker CLI's current context, and berth-service's word on the Windows
// engine.
type LocalEngines struct{ Machine store.Machine }

// Switch implements Engines.
func (l *LocalEngines) Switch(ctx context.Context, engine string) error {
	e, err := engineswitch.Parse(engine)
	if err != nil {
		return err
	}
	_, err = lifecycle.SwitchEngine(ctx, l.Machine, e)
	return err
}

// Default implements Engines.
func (l *LocalEngines) Default() string {
	dir, err := dockercontext.Dir()
	if err != nil {
		return string(engineswitch.Linux)
	}
	cur, _ := dockercontext.Current(dir)
	return string(engineswitch.OfContext(cur))
}

// WindowsEngine implements Engines.
func (l *LocalEngines) WindowsEngine(ctx context.Context) string {
	st, err := engineswitch.WindowsEngine(ctx)
	if err != nil {
		return "not available (" + firstLine(err.Error()) + ")"
	}
	if st.Reason != "" {
		return st.State + " (" + firstLine(st.Reason) + ")"
	}
	return st.State
}

// Package engine is Berth's one Docker API client: every call the host agent
// and the tray make to the engine (ping, version, container list, inspect,
// events, stop, restart) goes through it, over a connection the caller
// dials, and every container comes back as one Container type.
//
// It wraps github.com/moby/moby/client, so the API's paths, versions, error
// bodies and event stream framing are the engine project's own code, not a
// copy. The docker socket bridge does not use it: the bridge carries the
// user's requests byte for byte.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// Dialer opens a connection to the engine's API.
type Dialer func(ctx context.Context) (net.Conn, error)

// Client talks to one engine. It is safe for concurrent use.
type Client struct {
	c *client.Client
}

// New returns a client whose connections come from dial. The API version is
// negotiated with the engine on the first call (a HEAD /_ping), so one
// client serves an engine of any version the moby client supports (API 1.40
// and later) without Berth pinning one; a call that fails to negotiate
// tries again on the next call.
func New(dial Dialer) (*Client, error) {
	c, err := client.New(client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx)
	}))
	if err != nil {
		return nil, fmt.Errorf("docker API client: %w", err)
	}
	return &Client{c: c}, nil
}

// API is the Docker API client itself, for a caller that shows the
// engine's own types (the dashboard's lists, logs and inspect).
func (c *Client) API() *client.Client { return c.c }

// Close closes the idle connections.
func (c *Client) Close() error { return c.c.Close() }

// Ping checks that the engine answers.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("docker ping: %w", err)
	}
	return nil
}

// Version is the engine's version, as `docker version` shows it.
func (c *Client) Version(ctx context.Context) (string, error) {
	v, err := c.c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("docker version: %w", err)
	}
	return v.Version, nil
}

// Containers lists the running containers (stopped ones publish nothing).
func (c *Client) Containers(ctx context.Context) ([]Container, error) {
	res, err := c.c.ContainerList(ctx, client.ContainerListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]Container, 0, len(res.Items))
	for _, s := range res.Items {
		out = append(out, fromSummary(s))
	}
	return out, nil
}

// Inspect reads one container. Its Ports are the bindings it was created
// with (HostConfig.PortBindings), which a created container already has and
// its list entry shows only once it runs: a binding whose host port is left
// to the engine (`-p 80`, `-P`, a host port range) has HostPort 0, and one
// without a host address has no HostIP.
func (c *Client) Inspect(ctx context.Context, id string) (Container, error) {
	res, err := c.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return Container{}, fmt.Errorf("inspecting container %s: %w", id, err)
	}
	return fromInspect(res.Container), nil
}

// Stop stops a container, with the engine's default grace period. A
// container that is not running is no error.
func (c *Client) Stop(ctx context.Context, id string) error {
	if _, err := c.c.ContainerStop(ctx, id, client.ContainerStopOptions{}); err != nil {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	return nil
}

// Restart restarts a container, with the engine's default grace period.
func (c *Client) Restart(ctx context.Context, id string) error {
	if _, err := c.c.ContainerRestart(ctx, id, client.ContainerRestartOptions{}); err != nil {
		return fmt.Errorf("restarting container %s: %w", id, err)
	}
	return nil
}

// EventFilter selects events; an empty field selects all.
type EventFilter struct {
	Types   []string // "container", "network", ...
	Actions []string // "start", "die", "connect", ...
}

// Event is what Berth reads of an engine event.
type Event struct {
	Type   string // "container", "network", ...
	Action string // "create", "start", "die", "connect", ...
	// ID is the actor's: the container's, or the network's for a network
	// event (whose container is Attributes["container"]).
	ID         string
	Attributes map[string]string
}

// Events subscribes to the engine's events. It returns once the engine has
// answered the request, so a container list made after it misses no change:
// every later change arrives as an event. A request that failed returns its
// error here or, when the moby client queues it a moment late, from the
// first Next. The stream never
// reconnects by itself; a caller that follows the engine for long
// subscribes again when Next fails, and lists again, since events may have
// been lost in between.
func (c *Client) Events(ctx context.Context, f EventFilter) (*EventStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	filters := client.Filters{}
	if len(f.Types) > 0 {
		filters.Add("type", f.Types...)
	}
	if len(f.Actions) > 0 {
		filters.Add("event", f.Actions...)
	}
	// The moby client returns once the request was answered (the engine
	// sends its headers before any event) or failed.
	res := c.c.Events(ctx, client.EventsListOptions{Filters: filters})
	select {
	case err := <-res.Err:
		cancel()
		if err == nil {
			err = errStreamEnded
		}
		return nil, fmt.Errorf("docker events: %w", err)
	default:
	}
	return &EventStream{msgs: res.Messages, errs: res.Err, cancel: cancel}, nil
}

var errStreamEnded = errors.New("the event stream ended")

// EventStream is one subscription. Next is called from one goroutine at a
// time; Close from any.
type EventStream struct {
	msgs   <-chan events.Message
	errs   <-chan error
	cancel context.CancelFunc
	err    error
}

// Next waits for the next event. Once the stream has ended (the engine
// closed it, the connection failed, ctx ended, or Close was called) it
// returns the reason, and returns it again on every later call.
func (s *EventStream) Next() (Event, error) {
	if s.err != nil {
		return Event{}, s.err
	}
	select {
	case m := <-s.msgs:
		return Event{Type: string(m.Type), Action: string(m.Action), ID: m.Actor.ID, Attributes: m.Actor.Attributes}, nil
	case err, ok := <-s.errs:
		if !ok || err == nil {
			err = errStreamEnded
		}
		s.err = fmt.Errorf("docker events: %w", err)
		s.cancel()
		return Event{}, s.err
	}
}

// Close ends the subscription; a Next waiting returns.
func (s *EventStream) Close() { s.cancel() }

// Container is a container as Berth uses it: for port forwards and for the
// tray's menu.
type Container struct {
	ID string
	// Name is the container's first name, without the engine's leading "/".
	Name   string
	Image  string
	State  string // "running", "paused", "restarting", "created"...
	Labels map[string]string
	Ports  []Port
}

// ComposeProject is the Compose project the container belongs to, or "".
func (c Container) ComposeProject() string {
	return c.Labels["com.docker.compose.project"]
}

// Port is one of a container's ports. In a list, HostPort 0 is a port the
// image exposes and nobody published; a published port has the host
// address Docker was asked for ("0.0.0.0" and "::" mean every address;
// Docker lists a port published on both once for each).
type Port struct {
	HostIP        string // "" when unset
	HostPort      int
	ContainerPort int
	Proto         string // "tcp", "udp" or "sctp"
}

func fromSummary(s container.Summary) Container {
	c := Container{ID: s.ID, Image: s.Image, State: string(s.State), Labels: s.Labels}
	if len(s.Names) > 0 {
		c.Name = strings.TrimPrefix(s.Names[0], "/")
	}
	for _, p := range s.Ports {
		c.Ports = append(c.Ports, Port{HostIP: addrString(p.IP.IsValid(), p.IP.String()), HostPort: int(p.PublicPort),
			ContainerPort: int(p.PrivatePort), Proto: p.Type})
	}
	return c
}

func fromInspect(r container.InspectResponse) Container {
	c := Container{ID: r.ID, Name: strings.TrimPrefix(r.Name, "/")}
	if r.Config != nil {
		c.Image, c.Labels = r.Config.Image, r.Config.Labels
	}
	if r.State != nil {
		c.State = string(r.State.Status)
	}
	if r.HostConfig != nil {
		c.Ports = fromBindings(r.HostConfig.PortBindings)
	}
	return c
}

func fromBindings(pm network.PortMap) []Port {
	var out []Port
	for key, binds := range pm {
		for _, b := range binds {
			// A host range ("8000-8010") or none is the engine's pick.
			hp, err := strconv.Atoi(b.HostPort)
			if err != nil || hp < 0 || hp > 65535 {
				hp = 0
			}
			out = append(out, Port{HostIP: addrString(b.HostIP.IsValid(), b.HostIP.String()), HostPort: hp,
				ContainerPort: int(key.Num()), Proto: string(key.Proto())})
		}
	}
	// The map has no order; the list's ports come in the engine's.
	slices.SortFunc(out, func(a, b Port) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.ContainerPort, b.ContainerPort),
			cmp.Compare(a.HostIP, b.HostIP), cmp.Compare(a.HostPort, b.HostPort))
	})
	return out
}

// addrString is "" for an unset address (netip.Addr's String says
// "invalid IP").
func addrString(valid bool, s string) string {
	if !valid {
		return ""
	}
	return s
}

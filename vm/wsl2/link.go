package wsl2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/berth-dev/berth/guest/linkhello"
	"github.com/berth-dev/berth/vm"
)

// helloTimeout is how long the guest may take to send its link header
// once the hvsock connection is up.
const helloTimeout = 5 * time.Second

// DialLink connects to the guest's AF_VSOCK port over hvsock, once the
// guest init this driver started runs, and answers the link once the peer
// has sent the link header with this start's nonce (package linkhello):
// the header's bytes are consumed, the switch's frames follow.
//
// The WSL VM's id is, in this order: the one found before; the one
// `wslinfo --vm-id` prints in the distro (WSL 2.5.10 or later); else one
// of the compute systems in the Host Compute Service's registry key,
// each dialed, the one whose peer sends the right header. A peer that
// sends anything else is another VM, another distro or an earlier start,
// and is refused.
func (d *Driver) DialLink(ctx context.Context) (net.Conn, error) {
	_, done := d.running()
	if done == nil {
		return nil, fmt.Errorf("the WSL distro %s: %w", d.distro, vm.ErrNotRunning)
	}
	select {
	case <-done:
		return nil, fmt.Errorf("the guest init in the WSL distro %s has exited: %w", d.distro, vm.ErrNotRunning)
	default:
	}
	d.mu.Lock()
	id, nonce := d.vmID, d.nonce
	d.mu.Unlock()

	var tried []string // what failed, in order
	if id != "" {
		conn, err := d.dialGuest(ctx, id, nonce)
		if err == nil {
			return conn, nil
		}
		d.forgetVMID(id) // found anew below
		if ctx.Err() != nil {
			return nil, fmt.Errorf("the WSL VM %s (found before): %w", id, err)
		}
		tried = append(tried, fmt.Sprintf("the WSL VM %s found before: %v", id, err))
	}

	id, werr := d.wslinfoVMID(ctx)
	switch {
	case werr == nil:
		conn, err := d.dialGuest(ctx, id, nonce)
		if err != nil {
			return nil, d.triedErr(tried, fmt.Sprintf("the WSL VM %s (from wslinfo --vm-id)", id), err)
		}
		d.keepVMID(id)
		return conn, nil
	case errors.Is(werr, ErrNotInstalled) || errors.Is(werr, ErrNoWSL2) || errors.Is(werr, ErrDistroNotFound) || ctx.Err() != nil:
		return nil, werr
	}
	tried = append(tried, fmt.Sprintf("wslinfo --vm-id: %v", werr))

	id, conn, err := d.probe(ctx, nonce)
	if err != nil {
		return nil, fmt.Errorf("%w; %s", d.triedErr(tried, "the Host Compute Service's compute systems", err), vmIDNeeds)
	}
	d.keepVMID(id)
	return conn, nil
}

// triedErr says what DialLink tried, in order, the last step what
// failed last.
func (d *Driver) triedErr(tried []string, last string, err error) error {
	return fmt.Errorf("reaching the guest's vsock port %d: tried %s: %w",
		LinkPort(d.distro), strings.Join(append(tried, last), "; then "), err)
}

// candidatesErr is each candidate's failure.
type candidatesErr struct {
	ids  []string
	errs []error
}

func (e *candidatesErr) Error() string {
	parts := make([]string, len(e.ids))
	for i, id := range e.ids {
		parts[i] = fmt.Sprintf("%s: %v", id, e.errs[i])
	}
	return fmt.Sprintf("%d candidate(s), none Berth's guest of this distro: %s", len(e.ids), strings.Join(parts, "; "))
}

func (e *candidatesErr) Unwrap() []error { return e.errs }

// wslinfoVMID is the VM's id as `wslinfo --vm-id` in the distro prints it.
func (d *Driver) wslinfoVMID(ctx context.Context) (string, error) {
	out, err := d.wsl.Output(ctx, d.distro, wslinfoPath, "--vm-id")
	if err != nil {
		return "", err
	}
	return ParseVMID(out)
}

// probe dials every compute system HCS lists at once and answers the one
// whose peer sent the right header, with its link; the others' links are
// closed.
func (d *Driver) probe(ctx context.Context, nonce linkhello.Nonce) (string, net.Conn, error) {
	ids, err := d.vms.ListVMs()
	if err != nil {
		return "", nil, err
	}
	if len(ids) == 0 {
		return "", nil, errors.New("none runs")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i    int
		conn net.Conn
		err  error
	}
	results := make(chan result, len(ids))
	for i, id := range ids {
		go func() {
			conn, err := d.dialGuest(ctx, id, nonce)
			results <- result{i, conn, err}
		}()
	}
	errs := make([]error, len(ids))
	var found *result
	for range ids {
		r := <-results
		switch {
		case r.err != nil:
			errs[r.i] = r.err
		case found == nil:
			found = &r
			cancel() // the others need not finish
		default: // a second right peer: the first wins
			r.conn.Close()
		}
	}
	if found != nil {
		return ids[found.i], found.conn, nil
	}
	return "", nil, &candidatesErr{ids: ids, errs: errs}
}

// dialGuest connects to the link port of the VM id and reads the link
// header; a link whose header is missing or wrong is closed.
func (d *Driver) dialGuest(ctx context.Context, id string, nonce linkhello.Nonce) (net.Conn, error) {
	port := LinkPort(d.distro)
	conn, err := d.hv.DialHvsock(ctx, id, port)
	if err != nil {
		return nil, fmt.Errorf("connecting to vsock port %d: %w", port, err)
	}
	// The caller's end cuts the read short.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	err = conn.SetDeadline(time.Now().Add(d.hello))
	if err == nil {
		err = linkhello.Expect(conn, nonce)
	}
	canceled := !stop()
	if err == nil && !canceled {
		err = conn.SetDeadline(time.Time{})
	}
	if err == nil && canceled {
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			return nil, fmt.Errorf("the peer sent no link header within %v: it is not Berth's guest init, or one too old to send it", d.hello)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("the link header: %w", err)
	}
	return conn, nil
}

func (d *Driver) keepVMID(id string) {
	d.mu.Lock()
	d.vmID = id
	d.mu.Unlock()
}

func (d *Driver) forgetVMID(id string) {
	d.mu.Lock()
	if d.vmID == id {
		d.vmID = ""
	}
	d.mu.Unlock()
}

// withWSLEnv is env with name=value set and name added to WSLENV with
// the /u flag, so that wsl.exe hands it to the Linux process it starts
// (and to nothing going the other way).
func withWSLEnv(env []string, name, value string) []string {
	var wslenv string
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.EqualFold(k, "WSLENV"):
			wslenv = v
		case strings.EqualFold(k, name):
		default:
			out = append(out, kv)
		}
	}
	var names []string
	for _, n := range strings.Split(wslenv, ":") {
		base, _, _ := strings.Cut(n, "/")
		if n != "" && !strings.EqualFold(base, name) {
			names = append(names, n)
		}
	}
	names = append(names, name+"/u")
	return append(out, name+"="+value, "WSLENV="+strings.Join(names, ":"))
}

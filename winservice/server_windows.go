//go:build windows

package winservice

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/Microsoft/go-winio"
	"github.com/berth-dev/berth/internal/sockets"
	"golang.org/x/sys/windows"
)

// requestDeadline bounds how long a client may take to send its request,
// and the whole exchange with it.
const requestDeadline = 3 * time.Minute

// Listen creates the control pipe with sddl (ServiceSDDL of the
// principal). It refuses a name another process serves already.
func Listen(pipe, sddl string) (net.Listener, error) {
	timeout := time.Second
	if c, err := winio.DialPipe(pipe, &timeout); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("%s is served already: another berth-service runs", pipe)
	}
	l, err := winio.ListenPipe(pipe, &winio.PipeConfig{SecurityDescriptor: sddl, MessageMode: false})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", pipe, err)
	}
	return l, nil
}

// Serve answers requests on ln with s until ctx ends or ln is closed; one
// request per connection. It returns when every connection is done.
func Serve(ctx context.Context, ln net.Listener, s *Service) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); ln.Close() }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Go(func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(requestDeadline))
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			caller, err := CallerOf(c)
			if err != nil {
				// Nobody to answer to: the caller is unknown, so refused.
				_ = s.Log.Warning(EventRefused, "refused a caller whose token could not be read: "+err.Error())
				return
			}
			_ = s.Handle(ctx, caller, c, c)
		})
	}
}

var procImpersonateNamedPipeClient = windows.NewLazySystemDLL("advapi32.dll").NewProc("ImpersonateNamedPipeClient")

// CallerOf reads who is at the other end of a pipe connection: the
// service impersonates the client on a locked thread and reads that
// thread's token (the connection's own identity, not a process id that
// could be reused), then reverts.
func CallerOf(c net.Conn) (Caller, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return Caller{}, errors.New("not a pipe connection")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if r, _, err := procImpersonateNamedPipeClient.Call(f.Fd()); r == 0 {
		return Caller{}, fmt.Errorf("ImpersonateNamedPipeClient: %w", err)
	}
	var tok windows.Token
	err := windows.OpenThreadToken(windows.CurrentThread(), windows.TOKEN_QUERY, true, &tok)
	if rerr := windows.RevertToSelf(); rerr != nil {
		// A thread that cannot stop being the client must not run
		// anything else: leave it locked, so it ends with this goroutine.
		runtime.LockOSThread()
		return Caller{}, fmt.Errorf("RevertToSelf: %w", rerr)
	}
	if err != nil {
		return Caller{}, fmt.Errorf("OpenThreadToken: %w", err)
	}
	defer tok.Close() //nolint:errcheck
	return callerOfToken(tok)
}

// callerOfToken is a token's user and its enabled groups (a deny-only
// group grants nothing, so it does not count).
func callerOfToken(tok windows.Token) (Caller, error) {
	u, err := tok.GetTokenUser()
	if err != nil {
		return Caller{}, fmt.Errorf("reading the caller's user: %w", err)
	}
	c := Caller{SID: u.User.Sid.String()}
	gs, err := tok.GetTokenGroups()
	if err != nil {
		return Caller{}, fmt.Errorf("reading the caller's groups: %w", err)
	}
	for _, g := range gs.AllGroups() {
		if g.Attributes&windows.SE_GROUP_ENABLED != 0 && g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0 {
			c.Groups = append(c.Groups, g.Sid.String())
		}
	}
	return c, nil
}

// DialService opens the control pipe, checking before anything is sent
// that its server runs as SYSTEM: the pipe's name is global, and a
// squatter must not receive the user's requests. It dials at the
// identification level, so that the service reads who calls (CallerOf)
// and can do nothing as them.
func DialService(ctx context.Context) (net.Conn, error) {
	return sockets.DialServerIdentified(ctx, ServicePipe, SystemSID)
}

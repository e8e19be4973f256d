package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// qmpSession is one monitor connection kept open across commands that take
// arguments, and that collects the events QEMU sends between replies: the
// save and the restore of a VM (save_linux.go) wait for DEVICE_DELETED and
// follow a migration on it.
type qmpSession struct {
	conn   net.Conn
	r      *bufio.Reader
	events []qmpReply
}

func dialQMP(ctx context.Context, sock string) (*qmpSession, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("connecting to QEMU's monitor: %w", err)
	}
	s := &qmpSession{conn: conn, r: bufio.NewReader(conn)}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := qmpRead(s.r); err != nil { // greeting
		conn.Close()
		return nil, err
	}
	if _, err := s.exec("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *qmpSession) Close() error { return s.conn.Close() }

// exec runs one command with its arguments (nil: none) and returns its
// "return"; events read on the way are kept.
func (s *qmpSession) exec(command string, args any) (json.RawMessage, error) {
	msg := map[string]any{"execute": command}
	if args != nil {
		msg["arguments"] = args
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	_ = s.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("QMP %s: %w", command, err)
	}
	return s.reply(command)
}

func (s *qmpSession) reply(command string) (json.RawMessage, error) {
	for {
		rep, err := qmpRead(s.r)
		if err != nil {
			return nil, fmt.Errorf("QMP %s: %w", command, err)
		}
		switch {
		case rep.Error != nil:
			return nil, fmt.Errorf("QMP %s: %s: %s", command, rep.Error.Class, rep.Error.Desc)
		case rep.Return != nil:
			return rep.Return, nil
		case rep.Event != "":
			s.events = append(s.events, rep)
		}
	}
}

// waitEvent waits until an event named name for which match is true
// arrived (kept from earlier replies, or read now), or ctx ends.
func (s *qmpSession) waitEvent(ctx context.Context, name string, match func(data json.RawMessage) bool) error {
	for {
		for i, e := range s.events {
			if e.Event == name && match(e.Data) {
				s.events = append(s.events[:i], s.events[i+1:]...)
				return nil
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = s.conn.SetReadDeadline(deadline)
		rep, err := qmpRead(s.r)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for QEMU's %s event: %w", name, ctx.Err())
			}
			return fmt.Errorf("waiting for QEMU's %s event: %w", name, err)
		}
		if rep.Event != "" {
			s.events = append(s.events, rep)
		}
	}
}

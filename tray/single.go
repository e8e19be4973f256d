package tray

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/store"
)

// ErrAlreadyRunning: another tray of this user runs; it was asked to show
// itself.
var ErrAlreadyRunning = errors.New("the Berth tray is already running")

// ClaimInstance makes this process the user's only tray, on its owner-only
// endpoint (store.TrayEndpoint: a socket in the state directory, or on
// Windows a pipe named after it and the user's SID, pipe names being
// global). When another one
// answers on the endpoint it is told to show itself and ErrAlreadyRunning
// is returned. Otherwise show runs whenever a later copy asks, until
// release.
func ClaimInstance(goos, home string, show func()) (release func(), err error) {
	path, err := store.TrayEndpoint(goos, home)
	if err != nil {
		return nil, err
	}
	l, err := sockets.Listen(path)
	if errors.Is(err, sockets.ErrInUse) || (err != nil && goos == "windows") {
		if serr := askShow(path); serr == nil {
			return nil, ErrAlreadyRunning
		}
	}
	if err != nil {
		return nil, fmt.Errorf("claiming the tray's endpoint: %w", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serveShow(c, show)
		}
	}()
	return func() { _ = l.Close() }, nil
}

func serveShow(c net.Conn, show func()) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if strings.TrimSpace(line) == "show" {
		show()
		_, _ = c.Write([]byte("ok\n"))
	}
}

func askShow(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := sockets.Dial(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("show\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && strings.TrimSpace(line) != "ok" {
		err = errors.New("unexpected answer")
	}
	if err != nil {
		return fmt.Errorf("the running tray did not answer: %q: %w", line, err)
	}
	return nil
}

package hostagent

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/sockets"
)

type fakeListener struct {
	name   string
	closed bool
}

func (l *fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (l *fakeListener) Close() error              { l.closed = true; return nil }
func (l *fakeListener) Addr() net.Addr            { return &net.UnixAddr{Name: l.name, Net: "unix"} }

func TestDockerListeners(t *testing.T) {
	const own, dflt = `\\.\pipe\berth-default-S-1-5-21-1-2-3-1001`, `\\.\pipe\docker_engine`
	inUse := fmt.Errorf("listening on %s: %w", dflt, sockets.ErrInUse)
	for _, tc := range []struct {
		name    string
		dflt    string
		errs    map[string]error
		want    []string
		wantLog string
		wantErr string
	}{
		{name: "unix: no default endpoint", want: []string{own}},
		{name: "default free", dflt: dflt, want: []string{own, dflt}, wantLog: "served too"},
		{name: "default held", dflt: dflt, errs: map[string]error{dflt: inUse}, want: []string{own}, wantLog: "another server holds it"},
		{name: "default denied otherwise", dflt: dflt, errs: map[string]error{dflt: errors.New("Access is denied.")}, want: []string{own}, wantLog: "Access is denied."},
		{name: "own taken", dflt: dflt, errs: map[string]error{own: fmt.Errorf("x: %w", sockets.ErrInUse)}, wantErr: "docker socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opened []*fakeListener
			listen := func(p string) (net.Listener, error) {
				if err := tc.errs[p]; err != nil {
					return nil, err
				}
				l := &fakeListener{name: p}
				opened = append(opened, l)
				return l, nil
			}
			var buf bytes.Buffer
			lns, err := dockerListeners(own, tc.dflt, listen, slog.New(slog.NewTextHandler(&buf, nil)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if len(opened) != 0 || lns != nil {
					t.Fatalf("opened %d listeners on failure", len(opened))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lns {
				got = append(got, l.Addr().String())
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("listeners %v, want %v", got, tc.want)
			}
			if !strings.Contains(buf.String(), tc.wantLog) {
				t.Errorf("log %q, want it to contain %q", buf.String(), tc.wantLog)
			}
		})
	}
}

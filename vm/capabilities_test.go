package vm

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestCapabilitiesValidateLinks(t *testing.T) {
	base := Capabilities{Boot: BootRootFS, DataDisk: DataDisk{Format: DiskDistro, CreatedBy: PartyDriver}}
	ok := base
	ok.Links = []LinkSpec{{Link: LinkHvsock, Listener: PartyGuest}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a guest that listens on hvsock: %v", err)
	}
	bad := base
	bad.Links = []LinkSpec{{Link: LinkHvsock, Listener: "host"}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "links[0].listener") {
		t.Errorf("an unknown listener: %v, want an error naming links[0].listener", err)
	}
}

type plainDriver struct{ Driver }

type dialingDriver struct {
	Driver
	conn net.Conn
}

func (d dialingDriver) DialLink(context.Context) (net.Conn, error) { return d.conn, nil }

func TestDialLink(t *testing.T) {
	if _, err := DialLink(context.Background(), plainDriver{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("DialLink on a driver without it: %v, want ErrUnsupported", err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got, err := DialLink(context.Background(), dialingDriver{conn: a}); err != nil || got != a {
		t.Errorf("DialLink = %v, %v; want the driver's connection", got, err)
	}
}

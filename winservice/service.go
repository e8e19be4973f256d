package winservice

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/vm/hyperv"
)

// Caller is who sent a request, read from the pipe client's token by the
// server, never from the request.
type Caller struct {
	SID    string
	Groups []string // the SIDs of the token's enabled groups
}

// Authorized reports whether caller may use the service whose principal
// (the installing user, or the group the installer made) is the SID
// principal: the caller is it, or a member of it. SIDs compare without
// case. An empty principal admits nobody.
func Authorized(caller Caller, principal string) bool {
	if principal == "" {
		return false
	}
	if strings.EqualFold(caller.SID, principal) {
		return true
	}
	for _, g := range caller.Groups {
		if strings.EqualFold(g, principal) {
			return true
		}
	}
	return false
}

// Response is the service's one answer to a request: an error, or what
// the kind returns.
type Response struct {
	Error    string               `json:"error,omitempty"`
	Features *Features            `json:"features,omitempty"`
	Engine   *EngineStatus        `json:"engine,omitempty"`
	Machine  *hyperv.MachineState `json:"machine,omitempty"`
}

// EventLog is where every request is recorded: the Windows event log in
// the service (golang.org/x/sys/windows/svc/eventlog's *Log has these
// methods), a recorder in tests.
type EventLog interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// Event ids of the service's event log entries.
const (
	EventRequest  uint32 = 1 // a request served
	EventRefused  uint32 = 2 // a request refused (unauthorised, malformed, unknown)
	EventFailed   uint32 = 3 // a request that failed while being served
	EventEngine   uint32 = 10
	EventLifetime uint32 = 20
)

// FeatureReader reports the Windows features (the service runs DISM).
type FeatureReader interface {
	Features(ctx context.Context) (Features, error)
}

// EngineReporter reports the Windows engine's state (the Supervisor).
type EngineReporter interface {
	Status() EngineStatus
}

// Service answers the control pipe's requests.
type Service struct {
	// Principal is the SID of the user or group the service serves.
	Principal string
	Features  FeatureReader
	Engine    EngineReporter
	HyperV    hyperv.Manager
	Log       EventLog
}

// Handle reads one request of caller from r and writes the response to w.
// The request's line is read first in every case (at most 4 KiB), so that
// the client's write completes and it reads the answer; an unauthorised
// caller's is then refused without being decoded. Every request, served
// or refused, is logged with the caller's SID.
func (s *Service) Handle(ctx context.Context, caller Caller, r io.Reader, w io.Writer) error {
	resp := s.respond(ctx, caller, r)
	return json.NewEncoder(w).Encode(resp)
}

func (s *Service) respond(ctx context.Context, caller Caller, r io.Reader) Response {
	line, lerr := readLine(r)
	if !Authorized(caller, s.Principal) {
		msg := fmt.Sprintf("refused a caller running as %s: the service serves %s (the installing user or its group) only", caller.SID, s.Principal)
		_ = s.Log.Warning(EventRefused, msg)
		return Response{Error: msg}
	}
	d, err := decodeLine(line, lerr)
	if err != nil {
		_ = s.Log.Warning(EventRefused, fmt.Sprintf("%s: %v", caller.SID, err))
		return Response{Error: err.Error()}
	}
	resp, err := s.dispatch(ctx, caller, d)
	if err != nil {
		_ = s.Log.Error(EventFailed, fmt.Sprintf("%s from %s: %v", describe(d), caller.SID, err))
		return Response{Error: fmt.Sprintf("%s: %v", d.Kind, err)}
	}
	_ = s.Log.Info(EventRequest, fmt.Sprintf("%s from %s", describe(d), caller.SID))
	return resp
}

func (s *Service) dispatch(ctx context.Context, caller Caller, d Decoded) (Response, error) {
	switch d.Kind {
	case KindFeatures:
		f, err := s.Features.Features(ctx)
		if err != nil {
			return Response{}, err
		}
		return Response{Features: &f}, nil
	case KindEngineStatus:
		st := s.Engine.Status()
		return Response{Engine: &st}, nil
	case KindHyperVStart:
		m, err := s.HyperV.Start(ctx, caller.SID, *d.Start)
		if err != nil {
			return Response{}, err
		}
		return Response{Machine: &m}, nil
	case KindHyperVStop:
		return Response{}, s.HyperV.Stop(ctx, caller.SID, d.Machine)
	case KindHyperVState:
		m, err := s.HyperV.State(ctx, caller.SID, d.Machine)
		if err != nil {
			return Response{}, err
		}
		return Response{Machine: &m}, nil
	}
	return Response{}, fmt.Errorf("kind %q has no handler", d.Kind) // Decode lets no other kind through
}

// describe is a request as the event log records it: its kind and
// arguments (names and sizes only; nothing secret is ever in one).
func describe(d Decoded) string {
	switch {
	case d.Start != nil:
		return fmt.Sprintf("%s %s (cpus %d, memory %d MiB, disk %d GiB)", d.Kind, d.Start.Machine, d.Start.CPUs, d.Start.MemoryMiB, d.Start.DiskGiB)
	case d.Machine != "":
		return fmt.Sprintf("%s %s", d.Kind, d.Machine)
	}
	return string(d.Kind)
}

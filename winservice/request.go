// Package winservice is berth-service, the optional elevated Windows
// service of the per-machine install. It does only what needs elevation:
// it runs the Windows containers engine (dockerd.exe), creates and runs the
// Hyper-V machine (through a hyperv.Manager), and reports the Windows
// features both need. The user's tools reach it on one control pipe, open
// to the installing user (or the group the installer names) only, with a
// small enumerated set of JSON requests: never a command line, a path or a
// VM document.
//
// Everything here but the pipe, the event log and the process calls is
// pure and tested on every OS; those are the _windows files.
package winservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/berth-dev/berth/vm/hyperv"
)

// ServicePipe is the service's control pipe.
const ServicePipe = `\\.\pipe\berth-service`

// EnginePipe is the Windows engine's docker pipe, and EngineHost the docker
// CLI's name for it (the berth-windows context).
const (
	EnginePipe = `\\.\pipe\berth-windows-engine`
	EngineHost = "npipe:////./pipe/berth-windows-engine"
)

// SystemSID is LocalSystem's, which berth-service and its dockerd.exe run
// as: the server its clients expect on both pipes.
const SystemSID = "S-1-5-18"

// Kind names one request of the enumerated set.
type Kind string

// The requests the service accepts; anything else is refused.
const (
	KindFeatures     Kind = "features"      // no args: the Windows features' states
	KindEngineStatus Kind = "engine.status" // no args: the Windows engine's state
	KindHyperVStart  Kind = "hyperv.start"  // args: hyperv.MachineRequest
	KindHyperVStop   Kind = "hyperv.stop"   // args: MachineArgs
	KindHyperVState  Kind = "hyperv.state"  // args: MachineArgs
)

// Request is one request on the control pipe: a kind and, for the kinds
// that take them, its arguments. Nothing else is accepted.
type Request struct {
	Kind Kind            `json:"kind"`
	Args json.RawMessage `json:"args,omitempty"`
}

// MachineArgs names one Hyper-V machine of the caller.
type MachineArgs struct {
	Machine string `json:"machine"`
}

// Decoded is a request checked against the set: exactly one of its
// argument fields is set, for the kinds that take arguments.
type Decoded struct {
	Kind    Kind
	Start   *hyperv.MachineRequest
	Machine string // hyperv.stop and hyperv.state
}

// maxRequest bounds what the service reads of one request.
const maxRequest = 4 << 10

// Limits of a hyperv.start request: a laptop's range, wide enough for any
// real machine, narrow enough that a request cannot ask for absurdities.
const (
	maxCPUs      = 64
	minMemoryMiB = 512
	maxMemoryMiB = 256 << 10
	minDiskGiB   = 8
	maxDiskGiB   = 16 << 10
)

var machineRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,30}$`)

// RequestError is a request refused before anything was done: malformed,
// unknown, or with a bad argument. Its text names what is wrong.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return "refused request: " + e.Msg }

func refuse(format string, a ...any) error { return &RequestError{Msg: fmt.Sprintf(format, a...)} }

// Decode reads one request (a JSON object on one line, at most 4 KiB)
// and checks it: a known kind, no field the kind does not define,
// arguments in range.
func Decode(r io.Reader) (Decoded, error) {
	return decodeLine(readLine(r))
}

func decodeLine(b []byte, err error) (Decoded, error) {
	if err != nil {
		return Decoded{}, err
	}
	var req Request
	if err := strict(b, &req); err != nil {
		return Decoded{}, refuse("not a request: %v", err)
	}
	d := Decoded{Kind: req.Kind}
	switch req.Kind {
	case KindFeatures, KindEngineStatus:
		if len(req.Args) != 0 && !bytes.Equal(bytes.TrimSpace(req.Args), []byte("null")) {
			return Decoded{}, refuse("%s takes no args", req.Kind)
		}
	case KindHyperVStart:
		var m hyperv.MachineRequest
		if err := strictArgs(req, &m); err != nil {
			return Decoded{}, err
		}
		if err := checkMachine(m); err != nil {
			return Decoded{}, err
		}
		d.Start = &m
	case KindHyperVStop, KindHyperVState:
		var m MachineArgs
		if err := strictArgs(req, &m); err != nil {
			return Decoded{}, err
		}
		if !machineRE.MatchString(m.Machine) {
			return Decoded{}, refuse("args.machine %q: lower-case letters, digits and '-', at most 31", m.Machine)
		}
		d.Machine = m.Machine
	case "":
		return Decoded{}, refuse("no kind")
	default:
		return Decoded{}, refuse("unknown kind %q (known: %s, %s, %s, %s, %s)", req.Kind,
			KindFeatures, KindEngineStatus, KindHyperVStart, KindHyperVStop, KindHyperVState)
	}
	return d, nil
}

// readLine reads up to the first newline or the end, at most maxRequest
// bytes, one byte at a time so that nothing after the line is consumed.
func readLine(r io.Reader) ([]byte, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return b, nil
			}
			if len(b) == maxRequest {
				return nil, refuse("over %d bytes", maxRequest)
			}
			b = append(b, one[0])
		}
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the request: %w", err)
		}
	}
}

func strictArgs(req Request, v any) error {
	if len(req.Args) == 0 {
		return refuse("%s: no args", req.Kind)
	}
	if err := strict(req.Args, v); err != nil {
		return refuse("%s args: %v", req.Kind, err)
	}
	return nil
}

// strict decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the request")
	}
	return nil
}

func checkMachine(m hyperv.MachineRequest) error {
	var errs []error
	if !machineRE.MatchString(m.Machine) {
		errs = append(errs, fmt.Errorf("args.machine %q: lower-case letters, digits and '-', at most 31", m.Machine))
	}
	if m.CPUs < 1 || m.CPUs > maxCPUs {
		errs = append(errs, fmt.Errorf("args.cpus %d: 1 to %d", m.CPUs, maxCPUs))
	}
	if m.MemoryMiB < minMemoryMiB || m.MemoryMiB > maxMemoryMiB {
		errs = append(errs, fmt.Errorf("args.memoryMiB %d: %d to %d", m.MemoryMiB, minMemoryMiB, maxMemoryMiB))
	}
	if m.DiskGiB < minDiskGiB || m.DiskGiB > maxDiskGiB {
		errs = append(errs, fmt.Errorf("args.diskGiB %d: %d to %d", m.DiskGiB, minDiskGiB, maxDiskGiB))
	}
	// The engine's settings inside the VM, checked as the guest config
	// they make (hyperv.GuestSettings: nothing of the host's).
	if err := m.Guest.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("args.%w", err))
	}
	if len(errs) > 0 {
		return &RequestError{Msg: errors.Join(errs...).Error()}
	}
	return nil
}

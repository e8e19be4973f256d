package winservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm/hyperv"
)

const (
	userSID  = "S-1-5-21-1004336348-1177238915-682003330-1001"
	groupSID = "S-1-5-21-1004336348-1177238915-682003330-1010"
	otherSID = "S-1-5-21-1004336348-1177238915-682003330-1002"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Decoded
		err  string
	}{
		{in: `{"kind":"features"}`, want: Decoded{Kind: KindFeatures}},
		{in: `{"kind":"engine.status","args":null}` + "\n", want: Decoded{Kind: KindEngineStatus}},
		{in: `{"kind":"hyperv.start","args":{"machine":"default","cpus":2,"memoryMiB":2048,"diskGiB":64}}`,
			want: Decoded{Kind: KindHyperVStart, Start: &hyperv.MachineRequest{Machine: "default", CPUs: 2, MemoryMiB: 2048, DiskGiB: 64}}},
		{in: `{"kind":"hyperv.start","args":{"machine":"default","cpus":2,"memoryMiB":2048,"diskGiB":64,"guest":{"daemonJSON":{"registry-mirrors":["https://mirror.example"]},"stopTimeout":"30s","dns":["192.0.2.53"]}}}`,
			want: Decoded{Kind: KindHyperVStart, Start: &hyperv.MachineRequest{Machine: "default", CPUs: 2, MemoryMiB: 2048, DiskGiB: 64,
				Guest: hyperv.GuestSettings{DaemonJSON: json.RawMessage(`{"registry-mirrors":["https://mirror.example"]}`), StopTimeout: guestconfig.Duration(30 * time.Second), DNS: []string{"192.0.2.53"}}}}},
		{in: `{"kind":"hyperv.stop","args":{"machine":"work-2"}}`, want: Decoded{Kind: KindHyperVStop, Machine: "work-2"}},
		{in: `{"kind":"hyperv.state","args":{"machine":"default"}}`, want: Decoded{Kind: KindHyperVState, Machine: "default"}},

		{in: `{"kind":"exec","args":{"cmd":"cmd.exe"}}`, err: `unknown kind "exec"`},
		{in: `{}`, err: "no kind"},
		{in: ``, err: "not a request"},
		{in: `[1]`, err: "not a request"},
		{in: `{"kind":"features","user":"S-1-5-18"}`, err: `unknown field "user"`},
		{in: `{"kind":"features","args":{}}`, err: "features takes no args"},
		{in: `{"kind":"features"} {"kind":"features"}`, err: "data after the request"},
		{in: `{"kind":"hyperv.start"}`, err: "hyperv.start: no args"},
		{in: `{"kind":"hyperv.start","args":{"machine":"default","cpus":2,"memoryMiB":2048,"diskGiB":64,"kernel":"C:\\evil"}}`, err: `unknown field "kernel"`},
		{in: `{"kind":"hyperv.start","args":{"machine":"../x","cpus":0,"memoryMiB":1,"diskGiB":1}}`,
			err: `args.machine "../x"`},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":0,"memoryMiB":2048,"diskGiB":64}}`, err: "args.cpus 0: 1 to 64"},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":100,"diskGiB":64}}`, err: "args.memoryMiB 100"},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":1024,"diskGiB":99999999}}`, err: "args.diskGiB 99999999"},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":1024,"diskGiB":64,"guest":{"daemonJSON":{"data-root":"/mnt"}}}}`, err: `args.guest: engine.daemonJSON: "data-root" is set by the guest`},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":1024,"diskGiB":64,"guest":{"daemonJSON":[1]}}}`, err: "args.guest: engine.daemonJSON: must be a JSON object"},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":1024,"diskGiB":64,"guest":{"dns":["C:\\x"]}}}`, err: "args.guest: network.dns[0]"},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":1024,"diskGiB":64,"guest":{"shares":[{"path":"C:\\"}]}}}`, err: `shares[0].path`},
		{in: `{"kind":"hyperv.start","args":{"machine":"ok","cpus":1,"memoryMiB":1024,"diskGiB":64,"guest":{"shares":[{"tag":"s0","path":"/c","hostPath":"C:\\"}]}}}`, err: `unknown field "hostPath"`},
		{in: `{"kind":"hyperv.stop","args":{"machine":"C:\\Windows"}}`, err: `args.machine "C:\\Windows"`},
		{in: `{"kind":"hyperv.stop","args":{"name":"x"}}`, err: `unknown field "name"`},
		{in: `{"kind":"features","pad":"` + strings.Repeat("x", 5000) + `"}`, err: "over 4096 bytes"},
	} {
		d, err := Decode(strings.NewReader(tc.in))
		if tc.err != "" {
			var re *RequestError
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &re) {
				t.Errorf("Decode(%.60s) = %v, want a refusal containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.in, err)
			continue
		}
		if fmt.Sprint(d.Kind, d.Machine) != fmt.Sprint(tc.want.Kind, tc.want.Machine) ||
			(d.Start == nil) != (tc.want.Start == nil) || (d.Start != nil && !reflect.DeepEqual(*d.Start, *tc.want.Start)) {
			t.Errorf("Decode(%s) = %+v, want %+v", tc.in, d, tc.want)
		}
	}
}

// The newline ends a request: what follows is not consumed.
func TestDecodeStopsAtNewline(t *testing.T) {
	r := strings.NewReader("{\"kind\":\"features\"}\nrest")
	if _, err := Decode(r); err != nil {
		t.Fatal(err)
	}
	if r.Len() != len("rest") {
		t.Fatalf("%d bytes left, want 4", r.Len())
	}
}

func TestAuthorized(t *testing.T) {
	for _, tc := range []struct {
		c         Caller
		principal string
		want      bool
	}{
		{Caller{SID: userSID}, userSID, true},
		{Caller{SID: strings.ToLower(userSID)}, userSID, true},
		{Caller{SID: otherSID, Groups: []string{"S-1-1-0", groupSID}}, groupSID, true},
		{Caller{SID: otherSID, Groups: []string{"S-1-1-0"}}, groupSID, false},
		{Caller{SID: otherSID}, userSID, false},
		{Caller{SID: "S-1-5-18"}, userSID, false}, // not even SYSTEM, unless it is the principal
		{Caller{SID: ""}, "", false},
	} {
		if got := Authorized(tc.c, tc.principal); got != tc.want {
			t.Errorf("Authorized(%+v, %s) = %v", tc.c, tc.principal, got)
		}
	}
}

// recordLog is the event log of the tests.
type recordLog struct {
	mu      sync.Mutex
	entries []string
}

func (l *recordLog) add(level string, id uint32, msg string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, fmt.Sprintf("%s %d %s", level, id, msg))
	return nil
}
func (l *recordLog) Info(id uint32, m string) error    { return l.add("info", id, m) }
func (l *recordLog) Warning(id uint32, m string) error { return l.add("warning", id, m) }
func (l *recordLog) Error(id uint32, m string) error   { return l.add("error", id, m) }
func (l *recordLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.entries...)
}

// fakeManager is the Hyper-V side of the tests: it records its calls.
type fakeManager struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (m *fakeManager) rec(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, s)
}

func (m *fakeManager) Start(_ context.Context, sid string, r hyperv.MachineRequest) (hyperv.MachineState, error) {
	m.rec(fmt.Sprintf("start %s %s %d %d %d", sid, r.Machine, r.CPUs, r.MemoryMiB, r.DiskGiB))
	if m.fail != nil {
		return hyperv.MachineState{}, m.fail
	}
	return hyperv.MachineState{State: "running", VMID: "5e0c8f2d-0000-4000-8000-000000000001"}, nil
}

func (m *fakeManager) Stop(_ context.Context, sid, machine string) error {
	m.rec("stop " + sid + " " + machine)
	return m.fail
}

func (m *fakeManager) State(_ context.Context, sid, machine string) (hyperv.MachineState, error) {
	m.rec("state " + sid + " " + machine)
	return hyperv.MachineState{State: "stopped"}, m.fail
}

func (m *fakeManager) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

type fixedFeatures Features

func (f fixedFeatures) Features(context.Context) (Features, error) { return Features(f), nil }

type fixedEngine EngineStatus

func (e fixedEngine) Status() EngineStatus { return EngineStatus(e) }

func newTestService() (*Service, *fakeManager, *recordLog) {
	m, l := &fakeManager{}, &recordLog{}
	return &Service{
		Principal: groupSID,
		Features:  fixedFeatures{Containers: FeatureEnabled, HyperV: FeatureEnablePending},
		Engine:    fixedEngine{State: "running", PID: 42, Host: EngineHost},
		HyperV:    m,
		Log:       l,
	}, m, l
}

func handle(t *testing.T, s *Service, c Caller, req string) Response {
	t.Helper()
	var out bytes.Buffer
	if err := s.Handle(context.Background(), c, strings.NewReader(req), &out); err != nil {
		t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("response %q: %v", out.String(), err)
	}
	return r
}

func TestServiceHandle(t *testing.T) {
	s, m, l := newTestService()
	member := Caller{SID: userSID, Groups: []string{"S-1-1-0", groupSID}}

	r := handle(t, s, member, `{"kind":"hyperv.start","args":{"machine":"default","cpus":2,"memoryMiB":2048,"diskGiB":64}}`)
	if r.Error != "" || r.Machine == nil || r.Machine.State != "running" {
		t.Fatalf("start: %+v", r)
	}
	r = handle(t, s, member, `{"kind":"features"}`)
	if r.Features == nil || r.Features.HyperV != FeatureEnablePending {
		t.Fatalf("features: %+v", r)
	}
	r = handle(t, s, member, `{"kind":"engine.status"}`)
	if r.Engine == nil || r.Engine.PID != 42 {
		t.Fatalf("engine: %+v", r)
	}

	// Refused: an unauthorised caller (its request never read), a
	// malformed request, an unknown kind. None reaches the manager.
	r = handle(t, s, Caller{SID: otherSID, Groups: []string{"S-1-1-0"}}, `{"kind":"hyperv.stop","args":{"machine":"default"}}`)
	if !strings.Contains(r.Error, "refused a caller running as "+otherSID) {
		t.Fatalf("unauthorised: %+v", r)
	}
	if r = handle(t, s, member, `{"kind":"hyperv.stop","args":{"machine":"default"`); !strings.Contains(r.Error, "not a request") {
		t.Fatalf("malformed: %+v", r)
	}
	if r = handle(t, s, member, `{"kind":"run","args":{"cmd":"x"}}`); !strings.Contains(r.Error, `unknown kind "run"`) {
		t.Fatalf("unknown: %+v", r)
	}
	m.fail = errors.New("HCS says no")
	if r = handle(t, s, member, `{"kind":"hyperv.stop","args":{"machine":"default"}}`); r.Error != "hyperv.stop: HCS says no" {
		t.Fatalf("failing manager: %+v", r)
	}

	// The manager got the caller's SID from the token, not the request.
	want := []string{"start " + userSID + " default 2 2048 64", "stop " + userSID + " default"}
	if got := m.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("manager calls %q, want %q", got, want)
	}
	// Every request is in the event log, the refusals as warnings.
	logs := l.all()
	wantLogs := []string{
		"info 1 hyperv.start default (cpus 2, memory 2048 MiB, disk 64 GiB) from " + userSID,
		"info 1 features from " + userSID,
		"info 1 engine.status from " + userSID,
		"warning 2 refused a caller running as " + otherSID,
		"warning 2 " + userSID + ": refused request: not a request",
		"warning 2 " + userSID + `: refused request: unknown kind "run"`,
		"error 3 hyperv.stop default from " + userSID + ": HCS says no",
	}
	if len(logs) != len(wantLogs) {
		t.Fatalf("event log:\n%s", strings.Join(logs, "\n"))
	}
	for i, w := range wantLogs {
		if !strings.HasPrefix(logs[i], w) {
			t.Errorf("event log entry %d = %q, want it to start with %q", i, logs[i], w)
		}
	}
}

// The client and the service over a connection: the client's calls arrive
// as the manager's, with the SID the server read, never the client's.
func TestClientAgainstService(t *testing.T) {
	s, m, _ := newTestService()
	caller := Caller{SID: userSID, Groups: []string{groupSID}}
	c := &Client{Dial: func(context.Context) (net.Conn, error) {
		a, b := net.Pipe()
		go func() {
			defer b.Close()
			_ = s.Handle(context.Background(), caller, b, b)
		}()
		return a, nil
	}}
	ctx := context.Background()
	st, err := c.Start(ctx, "S-1-5-18", hyperv.MachineRequest{Machine: "default", CPUs: 4, MemoryMiB: 4096, DiskGiB: 100})
	if err != nil || st.VMID == "" {
		t.Fatalf("Start = %+v, %v", st, err)
	}
	if st, err = c.State(ctx, "", "default"); err != nil || st.State != "stopped" {
		t.Fatalf("State = %+v, %v", st, err)
	}
	if err := c.Stop(ctx, "", "default"); err != nil {
		t.Fatal(err)
	}
	f, err := c.Features(ctx)
	if err != nil || f.Containers != FeatureEnabled {
		t.Fatalf("Features = %+v, %v", f, err)
	}
	e, err := c.EngineStatus(ctx)
	if err != nil || e.State != "running" {
		t.Fatalf("EngineStatus = %+v, %v", e, err)
	}
	if _, err := c.Start(ctx, "", hyperv.MachineRequest{Machine: "Bad Name", CPUs: 1, MemoryMiB: 1024, DiskGiB: 10}); err == nil ||
		!strings.Contains(err.Error(), `args.machine "Bad Name"`) {
		t.Fatalf("bad start: %v", err)
	}
	want := "start " + userSID + " default 4 4096 100"
	if got := m.got(); len(got) != 3 || got[0] != want {
		t.Fatalf("manager calls %q", got)
	}

	none := &Client{Dial: func(context.Context) (net.Conn, error) { return nil, errors.New("pipe not found") }}
	if _, err := none.Features(ctx); !errors.Is(err, ErrNoService) || !strings.Contains(err.Error(), "per-machine install") {
		t.Fatalf("no service: %v", err)
	}
}

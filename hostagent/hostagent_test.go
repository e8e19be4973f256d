package hostagent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/hostagent/events"
	"github.com/berth-dev/berth/store"
	"github.com/berth-dev/berth/vm"
)

func TestWriteInitrdAppendsConfig(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.img")
	// An odd-sized base: the appended archive must start 4-byte aligned.
	if err := os.WriteFile(base, []byte("BASE-ARCHIVE"+"x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := guestconfig.Default()
	cfg.Hostname = "test-host"
	out := filepath.Join(dir, "initrd.img")
	if err := writeInitrd(out, base, cfg); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !bytes.HasPrefix(b, []byte("BASE-ARCHIVEx")) {
		t.Fatal("base archive not first")
	}
	rest := b[16:] // 13 bytes, padded to 16
	r := cpio.NewReader(bytes.NewReader(rest))
	var got guestconfig.Config
	found := false
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if "/"+h.Name == guestconfig.Path {
			found = true
			if err := json.NewDecoder(r).Decode(&got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found || got.Hostname != "test-host" {
		t.Fatalf("config not found in appended archive (found=%v, %+v)", found, got)
	}
	if _, err := os.Stat(out + ".tmp"); err == nil {
		t.Error("temporary file left behind")
	}
}

func TestWriteInitrdRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.img")
	os.WriteFile(base, []byte("x"), 0o644)
	cfg := guestconfig.Default()
	cfg.Network.Address = "nonsense"
	out := filepath.Join(dir, "initrd.img")
	err := writeInitrd(out, base, cfg)
	if err == nil || !strings.Contains(err.Error(), "network.address") {
		t.Fatalf("bad config: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("half-written initrd left behind")
	}
}

func TestLoadOrCreate(t *testing.T) {
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	def := MachineSpec{Arch: "amd64", CPUs: 2, MemoryMiB: 1024, DiskGiB: 8}
	spec, created, err := LoadOrCreate(m, def)
	if err != nil || !created || spec != def {
		t.Fatalf("first: %+v %v %v", spec, created, err)
	}
	fi, err := os.Stat(m.Path(store.DataDisk))
	if err != nil || fi.Size() != 8<<30 {
		t.Fatalf("data disk: %v %v", fi, err)
	}
	// The disk is sparse: nothing allocated yet.
	if n := allocated(fi); n > 1<<20 {
		t.Errorf("data disk allocates %d bytes, want sparse", n)
	}
	// User data on the disk survives a second start, even with other defaults.
	os.WriteFile(m.Path(store.DataDisk), []byte("user data"), 0o600)
	spec, created, err = LoadOrCreate(m, MachineSpec{Arch: "amd64", CPUs: 8, MemoryMiB: 4096, DiskGiB: 100})
	if err != nil || created || spec != def {
		t.Fatalf("second: %+v %v %v", spec, created, err)
	}
	if b, _ := os.ReadFile(m.Path(store.DataDisk)); string(b) != "user data" {
		t.Fatal("existing data disk was touched")
	}
	// A damaged machine.json is an error naming the file, never a silent reset.
	os.WriteFile(m.Path(store.MachineFile), []byte("{"), 0o600)
	if _, _, err := LoadOrCreate(m, def); err == nil || !strings.Contains(err.Error(), "machine.json") {
		t.Fatalf("damaged spec: %v", err)
	}
}

func TestSpecValidate(t *testing.T) {
	err := MachineSpec{Arch: "sparc", CPUs: 0, MemoryMiB: 1, DiskGiB: 1}.Validate()
	for _, f := range []string{"arch", "cpus", "memoryMiB", "diskGiB"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
	if s := defaultSpec(2, "amd64"); s.CPUs != 2 || s.Validate() != nil {
		t.Errorf("defaultSpec(2) = %+v", s)
	}
	if s := defaultSpec(16, "arm64"); s.CPUs != 4 {
		t.Errorf("defaultSpec(16) = %+v", s)
	}
}

func testAgent() *Agent {
	return &Agent{
		log: slog.New(slog.DiscardHandler), hub: events.NewHub[api.Event](), ctl: newControl(),
		status: api.Status{Machine: "default", State: api.StateStarting, Phase: "booting"},
	}
}

func TestControlAPI(t *testing.T) {
	a := testAgent()
	srv := httptest.NewServer(a.handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st api.Status
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.State != api.StateStarting {
		t.Fatalf("status %+v", st)
	}

	// The event stream starts with the current status, then follows changes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() api.Event {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended: %v", sc.Err())
		}
		var ev api.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := next(); ev.Status.State != api.StateStarting {
		t.Fatalf("first event %+v", ev.Status)
	}
	a.set(func(s *api.Status) { s.State, s.Phase = api.StateRunning, "" })
	if ev := next(); ev.Type != "status" || ev.Status.State != api.StateRunning {
		t.Fatalf("second event %+v", ev.Status)
	}

	resp2, err := http.Post(srv.URL+"/v1/stop", "", nil)
	if err != nil || resp2.StatusCode != http.StatusAccepted {
		t.Fatalf("stop: %v %v", resp2.Status, err)
	}
	if q, _ := a.ctl.take(); q != reqExit {
		t.Fatalf("stop request not delivered: %v", q)
	}
	// Twice is fine.
	http.Post(srv.URL+"/v1/stop", "", nil)

	// The process's figures, for load tests: this test holds a server,
	// its connections and an event stream.
	var res api.Resources
	resp4, err := http.Get(srv.URL + "/v1/debug/resources")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp4.Body).Decode(&res)
	resp4.Body.Close()
	if res.Goroutines < 3 || res.HeapBytes == 0 || res.SysBytes < res.HeapBytes || runtime.GOOS == "linux" && res.FDs < 3 {
		t.Errorf("resources %+v", res)
	}

	resp3, _ := http.Get(srv.URL + "/v1/debug/engine-rtt?n=0")
	if resp3.StatusCode != http.StatusBadRequest {
		t.Errorf("engine-rtt n=0: %s", resp3.Status)
	}
	resp3, _ = http.Get(srv.URL + "/v1/debug/engine-rtt?n=3")
	if resp3.StatusCode != http.StatusConflict {
		t.Errorf("engine-rtt with no engine: %s", resp3.Status)
	}
}

// A boot without an initrd of the agent's (a WSL distro, a machine a
// service boots) gets this boot's guest config as a file of its own, for
// the driver to hand the guest; a bad config writes nothing.
func TestPrepareBootRootFSWritesTheGuestConfig(t *testing.T) {
	for _, boot := range []vm.Boot{vm.BootRootFS, vm.BootService} {
		t.Run(string(boot), func(t *testing.T) { testPrepareBootWritesTheGuestConfig(t, boot) })
	}
}

func testPrepareBootWritesTheGuestConfig(t *testing.T, boot vm.Boot) {
	m, err := store.Open(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	cfg := guestconfig.Default()
	cfg.Hostname = "wsl-host"
	if err := prepareBoot(boot, m, t.TempDir(), cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(m.Path(store.GuestConfig))
	if err != nil {
		t.Fatal(err)
	}
	var got guestconfig.Config
	if err := json.Unmarshal(b, &got); err != nil || got.Hostname != "wsl-host" {
		t.Fatalf("guest config %s: %v, %+v", m.Path(store.GuestConfig), err, got)
	}
	if _, err := os.Stat(m.Path(store.InitrdFile)); err == nil {
		t.Error("an initrd was written for a boot without one")
	}
	os.Remove(m.Path(store.GuestConfig))
	cfg.Network.Address = "nonsense"
	if err := prepareBoot(boot, m, t.TempDir(), cfg); err == nil || !strings.Contains(err.Error(), "network.address") {
		t.Fatalf("bad config: %v", err)
	}
	if _, err := os.Stat(m.Path(store.GuestConfig)); err == nil {
		t.Error("a bad guest config was written")
	}
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
)

func host(t *testing.T) Host {
	return Host{CPUs: 8, MemoryMiB: 16384, Home: t.TempDir()}
}

func TestDefaultFileIsValidAndEmpty(t *testing.T) {
	r, warnings, err := Check(DefaultFile, host(t))
	if err != nil || len(warnings) > 0 {
		t.Fatalf("default file: %v %v", err, warnings)
	}
	if r.CPUs != 4 || r.MemoryMiB != 2048 || r.DiskGiB != 64 || r.DefaultBind != "all" || len(r.Shares) != 1 || r.Arch != "" {
		t.Fatalf("defaults: %+v", r)
	}
}

func TestParseValues(t *testing.T) {
	h := host(t)
	doc := `
cpus: 2
memory: 3GiB
disk: 100G
shares:
  - path: ~/
  - path: ` + h.Home + `
    readOnly: true
ports: {defaultBind: loopback}
engine:
  daemon:
    registry-mirrors: [http://mirror.test]
  proxy: {http: "http://127.0.0.1:3128", noProxy: localhost}
dns: {servers: [192.0.2.1]}
arch: arm64
`
	r, w, err := Check([]byte(doc), h)
	if err != nil || len(w) > 0 {
		t.Fatal(err, w)
	}
	if r.CPUs != 2 || r.MemoryMiB != 3072 || r.DiskGiB != 100 || r.DefaultBind != "loopback" || r.Arch != "arm64" {
		t.Fatalf("%+v", r)
	}
	if r.Shares[0].Path != h.Home || !r.Shares[1].ReadOnly {
		t.Fatalf("shares %+v", r.Shares)
	}
	if r.Proxy.HTTP != "http://127.0.0.1:3128" || r.DNS[0] != "192.0.2.1" || r.Daemon["registry-mirrors"] == nil {
		t.Fatalf("%+v", r)
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	_, w, err := Check([]byte("cpu: 2\nengine:\n  proxi: {}\n  daemon: {anything: 1}\nshares:\n  - path: /\n    rw: true\n"), host(t))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(w, "\n")
	for _, want := range []string{`line 1: unknown key "cpu"`, `unknown key "engine.proxi"`, `unknown key "shares[0].rw"`} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "anything") {
		t.Errorf("engine.daemon is free-form, got %s", got)
	}
}

// Every value that can be wrong has its error text, all at once.
func TestValidateNamesEveryField(t *testing.T) {
	doc := `
cpus: 64
memory: 100GiB
disk: 1GiB
accel: warp
arch: riscv64
shares: [{path: relative/dir}, {path: /nonexistent/berth}]
ports: {defaultBind: everywhere}
engine:
  daemon: {hosts: ["tcp://0.0.0.0:2375"], data-root: /x}
  proxy: {http: "proxy:3128"}
  metricsPort: 70000
dns: {servers: [not-an-ip]}
`
	_, _, err := Check([]byte(doc), host(t))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"cpus: 64 is out of range: this host has 8 CPUs",
		"memory: 102400 MiB is out of range: this host has 16384 MiB",
		"disk: 1 GiB is too small",
		`accel: "warp" is not one of kvm, hvf, whpx, tcg`,
		`arch: "riscv64" is not one of amd64, arm64`,
		`shares[0].path: "relative/dir" must be an absolute path`,
		`shares[1].path: "/nonexistent/berth" is not an existing directory`,
		`ports.defaultBind: "everywhere" is not one of all, loopback`,
		"engine.daemon.hosts: set by Berth itself",
		"engine.daemon.data-root: set by Berth itself",
		`engine.proxy.http: "proxy:3128" is not a URL`,
		"engine.metricsPort: 70000 is not a port",
		`dns.servers[0]: "not-an-ip" is not an IP address`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if _, _, err := Check([]byte("memory: lots\n"), host(t)); err == nil || !strings.Contains(err.Error(), `memory: "lots" is not a size`) {
		t.Errorf("bad size: %v", err)
	}
	if _, _, err := Check([]byte("rosetta: please\n"), host(t)); err == nil || !strings.Contains(err.Error(), "rosetta") {
		t.Errorf("a rosetta that is no boolean: %v", err)
	}
	if r, _, err := Check([]byte("rosetta: true\n"), host(t)); err != nil || !r.Rosetta {
		t.Errorf("rosetta: true gave %v, %v", r.Rosetta, err)
	}
	if _, _, err := Check([]byte("cpus: [\n"), host(t)); err == nil {
		t.Error("broken YAML accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "2GiB": 2 << 30, "2G": 2 << 30, "1024": 1024, "1T": 1 << 40, "3 GiB": 3 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2 gigs", "-1G", "1.5G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestSetGetKeepsComments(t *testing.T) {
	doc := []byte("# my machine\ncpus: 2 # two\n")
	out, err := Set(doc, "memory", "4GiB")
	if err != nil {
		t.Fatal(err)
	}
	out, err = Set(out, "engine.proxy.http", "http://127.0.0.1:3128")
	if err != nil {
		t.Fatal(err)
	}
	out, err = Set(out, "cpus", "3")
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"# my machine", "cpus: 3 # two", "memory: 4GiB", "http: http://127.0.0.1:3128"} {
		if !strings.Contains(s, want) {
			t.Errorf("after set, lacks %q:\n%s", want, s)
		}
	}
	if v, err := Get(out, "engine.proxy.http"); err != nil || v != "http://127.0.0.1:3128" {
		t.Errorf("get: %q %v", v, err)
	}
	if v, err := Get(out, "disk"); err != nil || v != "" {
		t.Errorf("get unset: %q %v", v, err)
	}
	if _, err := Set(out, "cpuz", "1"); err == nil || !strings.Contains(err.Error(), `unknown key "cpuz"`) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := Set(out, "cpus.x", "1"); err == nil {
		t.Error("sub-key of a scalar accepted")
	}
	if _, err := Set(out, "engine.daemon.log-driver", "local"); err != nil {
		t.Errorf("free-form daemon key: %v", err)
	}
	// Setting into the commented default file keeps its comments.
	out, err = Set(DefaultFile, "cpus", "1")
	if err != nil || !strings.Contains(string(out), "Virtual CPUs of the VM") || !strings.Contains(string(out), "cpus: 1") {
		t.Fatalf("set into default file: %v\n%s", err, out)
	}
}

func TestSaveNeverWritesABadFile(t *testing.T) {
	h := host(t)
	p := filepath.Join(t.TempDir(), FileName)
	if err := WriteDefault(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(p, []byte("cpus: 0\n"), h); err == nil {
		t.Fatal("bad config saved")
	}
	b, _ := os.ReadFile(p)
	if string(b) != string(DefaultFile) {
		t.Fatal("file changed by a rejected save")
	}
	if _, err := Save(p, []byte("cpus: 2\n"), h); err != nil {
		t.Fatal(err)
	}
	if r, _, err := LoadResolved(p, h); err != nil || r.CPUs != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	// WriteDefault never overwrites.
	if err := WriteDefault(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "cpus: 2\n" {
		t.Fatal("WriteDefault overwrote the user's file")
	}
}

// A value of the wrong type names its field (dotted, as berth config set
// takes it) and what the field accepts, not only the YAML library's words.
func TestParseTypeErrorNamesTheField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"cpus: four\n", `line 1: cpus: "four" is not a whole number`},
		{"engine:\n  proxy:\n    https: [a]\n", "line 3: engine.proxy.https: a list is not a string"},
		{"shares:\n  - path: ~\n    readOnly: maybe\n", `line 3: shares[0].readOnly: "maybe" is not true or false`},
		{"dns:\n  servers: 1.1.1.1\n", `line 2: dns.servers: "1.1.1.1" is not a list`},
	} {
		_, _, err := Parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v; want an error with %q", c.in, err, c.want)
		}
	}
}

// Validation refuses exactly the daemon keys the guest config builder
// refuses (berth start), naming the user's field: one list for both.
func TestValidateRefusesEveryReservedDaemonKey(t *testing.T) {
	for _, k := range guestconfig.ReservedDaemonKeys {
		_, _, err := Check([]byte("engine:\n  daemon: {"+k+": x}\n"), host(t))
		if err == nil || !strings.Contains(err.Error(), "engine.daemon."+k+": set by Berth itself") {
			t.Errorf("engine.daemon.%s: %v", k, err)
		}
	}
}

// resourceSaver.idle: a duration, 0 off, the default when unset; written
// as a YAML number too; a negative or unreadable one names the field.
func TestResourceSaverIdle(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want time.Duration
		err  string
	}{
		{doc: "", want: 5 * time.Minute},
		{doc: "resourceSaver: {idle: 90s}", want: 90 * time.Second},
		{doc: "resourceSaver: {idle: 1h30m}", want: 90 * time.Minute},
		{doc: "resourceSaver: {idle: 0}", want: 0},
		{doc: "resourceSaver: {idle: \"0s\"}", want: 0},
		{doc: "resourceSaver: {idle: -5m}", err: `resourceSaver.idle: "-5m" is negative`},
		{doc: "resourceSaver: {idle: soon}", err: `resourceSaver.idle: "soon" is not a duration`},
		{doc: "resourceSaver: {idle: 5}", err: `resourceSaver.idle: "5" is not a duration`},
	} {
		r, w, err := Check([]byte(tc.doc), host(t))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.doc, err, tc.err)
			}
			continue
		}
		if err != nil || len(w) > 0 || r.SaverIdle != tc.want {
			t.Errorf("%q: idle %s, %v %v; want %s", tc.doc, r.SaverIdle, err, w, tc.want)
		}
	}
	// `berth config set` takes it like any key, and refuses a bad one.
	doc, err := Set(DefaultFile, "resourceSaver.idle", "30s")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, err := Check(doc, host(t)); err != nil || r.SaverIdle != 30*time.Second {
		t.Errorf("after set: idle %s, %v", r.SaverIdle, err)
	}
}

// dashboard: on by default on a port chosen at start; enabled: false turns
// it off; a port out of range names the field; `config set` takes both.
func TestDashboardSettings(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		on   bool
		port int
		err  string
	}{
		{doc: "", on: true},
		{doc: "dashboard: {enabled: false}", on: false},
		{doc: "dashboard: {port: 8765}", on: true, port: 8765},
		{doc: "dashboard: {port: 0}", on: true},
		{doc: "dashboard: {port: 70000}", err: "dashboard.port: 70000 is not a port"},
		{doc: "dashboard: {port: -1}", err: "dashboard.port: -1 is not a port"},
		{doc: "dashboard: {enabled: maybe}", err: "dashboard.enabled"},
	} {
		r, _, err := Check([]byte(tc.doc), host(t))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.doc, err, tc.err)
			}
			continue
		}
		if err != nil || r.Dashboard != tc.on || r.DashboardPort != tc.port {
			t.Errorf("%q: enabled %v port %d, %v; want %v %d", tc.doc, r.Dashboard, r.DashboardPort, err, tc.on, tc.port)
		}
	}
	doc, err := Set(DefaultFile, "dashboard.port", "9000")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, err := Check(doc, host(t)); err != nil || r.DashboardPort != 9000 {
		t.Errorf("after set: port %d, %v", r.DashboardPort, err)
	}
	doc, err = Set(DefaultFile, "dashboard.port", "http")
	if err == nil {
		_, _, err = Check(doc, host(t))
	}
	if err == nil || !strings.Contains(err.Error(), "dashboard") {
		t.Errorf("dashboard.port http: %v, want an error naming the field", err)
	}
}

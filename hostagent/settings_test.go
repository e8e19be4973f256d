package hostagent

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/vm"
)

func TestApplyEngine(t *testing.T) {
	cfg := guestconfig.Default()
	r := config.Resolved{
		Daemon:      map[string]any{"log-driver": "local", "registry-mirrors": []any{"http://mirror.test"}},
		Proxy:       config.Proxy{HTTP: "http://127.0.0.1:3128", HTTPS: "http://proxy.test:8080", NoProxy: "localhost"},
		MetricsPort: 9999,
		DNS:         []string{"192.0.2.53"},
	}
	if err := applyEngine(&cfg, r); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(cfg.Engine.DaemonJSON, &d); err != nil {
		t.Fatal(err)
	}
	p := d["proxies"].(map[string]any)
	// The host's loopback is 192.168.127.254 seen from the guest.
	if p["http-proxy"] != "http://192.168.127.254:3128" || p["https-proxy"] != "http://proxy.test:8080" || p["no-proxy"] != "localhost" {
		t.Errorf("proxies %v", p)
	}
	if d["log-driver"] != "local" || d["metrics-addr"] != "192.168.127.2:9323" {
		t.Errorf("daemon.json %s", cfg.Engine.DaemonJSON)
	}
	if cfg.Network.DNS[0] != "192.0.2.53" {
		t.Errorf("dns %v", cfg.Network.DNS)
	}
	// No settings: no daemon.json of ours.
	cfg = guestconfig.Default()
	if err := applyEngine(&cfg, config.Resolved{}); err != nil || len(cfg.Engine.DaemonJSON) != 0 {
		t.Errorf("empty: %s %v", cfg.Engine.DaemonJSON, err)
	}
	if got := guestURL("http://localhost"); !strings.Contains(got, "192.168.127.254") {
		t.Errorf("guestURL(localhost) = %s", got)
	}
}

func TestNetLink(t *testing.T) {
	vhost := vm.LinkSpec{Link: vm.LinkVhostUser, Listener: vm.PartyHypervisor}
	stream := vm.LinkSpec{Link: vm.LinkStream, Listener: vm.PartyHypervisor}
	vfkitAgent := vm.LinkSpec{Link: vm.LinkVfkit, Listener: vm.PartyAgent}
	all := func(vm.LinkSpec) bool { return true }
	noVhost := func(l vm.LinkSpec) bool { return l.Link != vm.LinkVhostUser }
	for _, tc := range []struct {
		name     string
		offered  []vm.LinkSpec
		override string
		serves   func(vm.LinkSpec) bool
		want     vm.LinkSpec
		err      string
	}{
		{"best first", []vm.LinkSpec{vhost, stream}, "", all, vhost, ""},
		{"the network cannot serve the best", []vm.LinkSpec{vhost, stream}, "", noVhost, stream, ""},
		{"override to stream", []vm.LinkSpec{vhost, stream}, "stream", all, stream, ""},
		{"override to vhost-user", []vm.LinkSpec{vhost, stream}, "vhost-user", all, vhost, ""},
		{"override the driver does not offer", []vm.LinkSpec{stream}, "vhost-user", all, vm.LinkSpec{}, "offers"},
		{"unknown override", []vm.LinkSpec{vhost, stream}, "tap", all, vm.LinkSpec{}, EnvNetLink},
		{"nothing served", []vm.LinkSpec{vfkitAgent}, "", noVhost, vfkitAgent, ""},
		{"nothing at all", []vm.LinkSpec{vhost}, "", noVhost, vm.LinkSpec{}, "serves none"},
	} {
		got, err := netLink(tc.offered, tc.override, tc.serves)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestQEMULinksPerOS(t *testing.T) {
	// The driver's declaration and the network together give what the
	// agent used to decide by the driver's name.
	for goos, want := range map[string]vm.Link{"linux": vm.LinkVhostUser, "darwin": vm.LinkStream, "windows": vm.LinkStream} {
		_, caps, err := vm.CapabilitiesOf("qemu", goos)
		if err != nil {
			t.Fatal(err)
		}
		got, err := netLink(caps.Links, "", func(vm.LinkSpec) bool { return true })
		if err != nil || got.Link != want || got.Listener != vm.PartyHypervisor {
			t.Errorf("%s: %v %v, want %q with QEMU listening", goos, got, err, want)
		}
	}
}

func TestRosetta(t *testing.T) {
	for _, tt := range []struct {
		asked, can, want, warned bool
	}{
		{false, false, false, false},
		{false, true, false, false},
		{true, true, true, false},
		{true, false, false, true}, // QEMU, or vz on Linux: said in the log
	} {
		var buf bytes.Buffer
		got := rosetta(config.Resolved{Rosetta: tt.asked}, vm.Capabilities{Rosetta: tt.can}, slog.New(slog.NewTextHandler(&buf, nil)))
		if got != tt.want || strings.Contains(buf.String(), "rosetta:") != tt.warned {
			t.Errorf("asked %v, driver can %v: got %v, log %q; want %v, warned %v", tt.asked, tt.can, got, buf.String(), tt.want, tt.warned)
		}
	}
}

package hostagent

import (
	"encoding/json"
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
	for _, tc := range []struct {
		goos, driver, override string
		want                   vm.Link
		err                    string
	}{
		{"linux", "", "", vm.LinkVhostUser, ""},
		{"linux", "qemu", "", vm.LinkVhostUser, ""},
		{"darwin", "qemu", "", vm.LinkStream, ""},
		{"windows", "", "", vm.LinkStream, ""},
		{"linux", "", "stream", vm.LinkStream, ""},
		{"linux", "", "vhost-user", vm.LinkVhostUser, ""},
		{"linux", "", "tap", "", EnvNetLink},
	} {
		got, err := netLink(tc.goos, tc.driver, tc.override)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: %v, want an error naming %s", tc, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v", tc, got, err)
		}
	}
}

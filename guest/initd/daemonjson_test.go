package initd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRenderDaemonJSON(t *testing.T) {
	const gw = "192.168.127.254"
	tests := []struct {
		name    string
		in      string
		stop    time.Duration
		mtu     int
		want    map[string]any
		wantErr string
	}{
		{name: "empty", in: "", stop: 10 * time.Second, want: map[string]any{"shutdown-timeout": 10.0, "host-gateway-ip": gw, "live-restore": true}},
		{name: "null", in: "null", stop: 0, want: map[string]any{"host-gateway-ip": gw, "live-restore": true}},
		{name: "user keys kept", in: `{"debug":true,"log-opts":{"max-size":"10m"}}`, stop: 1500 * time.Millisecond,
			want: map[string]any{"debug": true, "log-opts": map[string]any{"max-size": "10m"}, "shutdown-timeout": 2.0, "host-gateway-ip": gw, "live-restore": true}},
		{name: "user shutdown-timeout wins", in: `{"shutdown-timeout":30}`, stop: 10 * time.Second, want: map[string]any{"shutdown-timeout": 30.0, "host-gateway-ip": gw, "live-restore": true}},
		{name: "user host-gateway-ip wins", in: `{"host-gateway-ip":"10.0.0.1"}`, want: map[string]any{"host-gateway-ip": "10.0.0.1", "live-restore": true}},
		{name: "user live-restore wins (swarm)", in: `{"live-restore":false}`, want: map[string]any{"host-gateway-ip": gw, "live-restore": false}},
		{name: "mtu for every bridge", in: `{}`, mtu: 65520, want: map[string]any{"host-gateway-ip": gw, "mtu": 65520.0, "live-restore": true,
			"default-network-opts": map[string]any{"bridge": map[string]any{"com.docker.network.driver.mtu": "65520"}}}},
		{name: "user mtu wins", in: `{"mtu":1400,"default-network-opts":{"bridge":{"com.docker.network.driver.mtu":"1400"}}}`, mtu: 65520,
			want: map[string]any{"host-gateway-ip": gw, "mtu": 1400.0, "live-restore": true,
				"default-network-opts": map[string]any{"bridge": map[string]any{"com.docker.network.driver.mtu": "1400"}}}},
		{name: "hosts", in: `{"hosts":["tcp://0.0.0.0:2375"]}`, wantErr: "hosts"},
		{name: "several reserved", in: `{"pidfile":"/x","data-root":"/y"}`, wantErr: `["data-root" "pidfile"]`},
		{name: "not an object", in: `[1]`, wantErr: "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := RenderDaemonJSON(json.RawMessage(tt.in), tt.stop, tt.mtu)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("rendered %s: %v", b, err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Fatalf("got %s, want %s", gb, wb)
			}
		})
	}
}

func TestWithoutLiveRestore(t *testing.T) {
	on, err := RenderDaemonJSON(json.RawMessage(`{"debug":true}`), 10*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	off, changed, err := WithoutLiveRestore(on)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	var m map[string]any
	if err := json.Unmarshal(off, &m); err != nil {
		t.Fatal(err)
	}
	if m["live-restore"] != false || m["debug"] != true || m["shutdown-timeout"] != 10.0 {
		t.Errorf("after: %s", off)
	}
	for _, in := range []string{`{"live-restore":false}`, `{}`, `{"live-restore":"yes"}`} {
		out, changed, err := WithoutLiveRestore([]byte(in))
		if err != nil || changed || string(out) != in {
			t.Errorf("%s: %s changed=%v err=%v", in, out, changed, err)
		}
	}
	if _, _, err := WithoutLiveRestore([]byte("{")); err == nil {
		t.Error("a broken file: no error")
	}
}

func TestFirewallRules(t *testing.T) {
	r := FirewallRules("192.168.127.1")
	for _, want := range []string{
		"-A BERTH-INPUT -i eth0 -s 192.168.127.1/32 -p tcp --dport 2375 -j RETURN\n-A BERTH-INPUT -p tcp --dport 2375 -j DROP\n",
		"-A BERTH-INPUT -i eth0 -s 192.168.127.1/32 -p tcp --dport 2380 -j RETURN\n-A BERTH-INPUT -p tcp --dport 2380 -j DROP\n",
		"-A BERTH-INPUT -i eth0 -s 192.168.127.1/32 -p tcp --dport 2381 -j RETURN\n-A BERTH-INPUT -p tcp --dport 2381 -j DROP\n",
		"-I INPUT 1 -j BERTH-INPUT\nCOMMIT\n",
		"*nat\n-I PREROUTING 1 -i eth0 -s 192.168.127.1/32 -d 192.168.127.3/32 -j DNAT --to-destination 127.0.0.1\nCOMMIT\n",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("rules lack %q:\n%s", want, r)
		}
	}
}

package initd

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// RenderDaemonJSON turns the machine's daemon.json into the file dockerd
// reads. It adds "shutdown-timeout" from stopTimeout when the user did not
// set it, so dockerd gives containers the time the host expects, and
// "host-gateway-ip" (the host's loopback as the guest reaches it). With an
// mtu, the engine's bridges (the default one, "mtu", and every network
// created later, "default-network-opts") take the link's MTU: a container's
// TCP segments are then as large as the link carries, not 1460 bytes, which
// is what makes forwarded ports fast under emulation. "live-restore": a
// dockerd that crashed leaves its containers running, and the one the init
// starts next takes them back (without it, dockerd stops them when it
// starts again, and Docker does not restart unless-stopped ones after
// that); the shutdown turns it off first (WithoutLiveRestore), so that a
// stop still stops containers as dockerd does. Swarm mode refuses
// live-restore: a user who wants swarm sets it false. A user's own setting
// of any of these keys wins.
func RenderDaemonJSON(raw json.RawMessage, stopTimeout time.Duration, mtu int) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("engine.daemonJSON must be a JSON object: %w", err)
		}
		if m == nil { // the literal null
			m = map[string]json.RawMessage{}
		}
	}
	var bad []string
	for k := range m {
		if slices.Contains(guestconfig.ReservedDaemonKeys, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, fmt.Errorf("engine.daemonJSON sets %q, which the guest sets itself", bad)
	}
	// host.docker.internal and --add-host x:host-gateway: the address the
	// virtual network NATs to the host's loopback.
	if _, ok := m["host-gateway-ip"]; !ok {
		m["host-gateway-ip"] = json.RawMessage(`"` + guestconfig.HostIP + `"`)
	}
	if _, ok := m["mtu"]; !ok && mtu > 0 {
		m["mtu"] = json.RawMessage(fmt.Sprint(mtu))
	}
	if _, ok := m["default-network-opts"]; !ok && mtu > 0 {
		m["default-network-opts"] = json.RawMessage(fmt.Sprintf(`{"bridge":{"com.docker.network.driver.mtu":"%d"}}`, mtu))
	}
	if _, ok := m["live-restore"]; !ok {
		m["live-restore"] = json.RawMessage("true")
	}
	if _, ok := m["shutdown-timeout"]; !ok && stopTimeout > 0 {
		secs := int(math.Ceil(stopTimeout.Seconds()))
		m["shutdown-timeout"] = json.RawMessage(fmt.Sprint(secs))
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WithoutLiveRestore is the rendered daemon.json with "live-restore" off,
// for the reload (SIGHUP) before dockerd is stopped: a dockerd with it on
// would leave its containers running when it exits. changed is false when
// it was not on.
func WithoutLiveRestore(rendered []byte) (out []byte, changed bool, err error) {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(rendered, &m); err != nil {
		return nil, false, fmt.Errorf("daemon.json: %w", err)
	}
	// Only a JSON true is on: dockerd refuses anything else.
	if v, ok := m["live-restore"]; !ok || string(v) != "true" {
		return rendered, false, nil
	}
	m["live-restore"] = json.RawMessage("false")
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, false, err
	}
	return append(b, '\n'), true, nil
}

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
// is what makes forwarded ports fast under emulation. A user's own setting
// of either key wins.
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

package hostagent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"

	"github.com/berth-dev/berth/config"
	"github.com/berth-dev/berth/guest/guestconfig"
	"github.com/berth-dev/berth/internal/hostinfo"
	"github.com/berth-dev/berth/vm"
)

// guestMetricsPort is where the engine serves Prometheus metrics in the
// guest when the config enables them.
const guestMetricsPort = 9323

// HostLimits is this host, as the config's limits see it.
func HostLimits() config.Host {
	home, _ := os.UserHomeDir()
	return config.Host{CPUs: hostinfo.CPUs(), MemoryMiB: hostinfo.MemoryMiB(), Home: home}
}

// specFor turns the config's resources into the machine's spec (an arch
// the config leaves unset is the machine's own, see PrepareWith).
func specFor(r config.Resolved) MachineSpec {
	return MachineSpec{Arch: r.Arch, CPUs: r.CPUs, MemoryMiB: r.MemoryMiB, DiskGiB: r.DiskGiB}
}

// rosetta tells whether the machine shares Rosetta with the guest: when the
// config asks and the driver can. A config that asks in vain is logged
// (to log, when not nil): amd64 images then run through QEMU's emulator.
func rosetta(r config.Resolved, caps vm.Capabilities, log *slog.Logger) bool {
	if r.Rosetta && !caps.Rosetta && log != nil {
		log.Warn("rosetta: only the vz driver on an Apple silicon Mac shares Rosetta; amd64 images run through QEMU's emulator")
	}
	return r.Rosetta && caps.Rosetta
}

// applyEngine renders the config's engine and DNS settings into the guest
// config.
func applyEngine(cfg *guestconfig.Config, r config.Resolved) error {
	d := map[string]any{}
	maps.Copy(d, r.Daemon)
	if p := r.Proxy; p.HTTP != "" || p.HTTPS != "" || p.NoProxy != "" {
		proxies := map[string]string{}
		if p.HTTP != "" {
			proxies["http-proxy"] = guestURL(p.HTTP)
		}
		if p.HTTPS != "" {
			proxies["https-proxy"] = guestURL(p.HTTPS)
		}
		if p.NoProxy != "" {
			proxies["no-proxy"] = p.NoProxy
		}
		d["proxies"] = proxies
	}
	if r.MetricsPort != 0 {
		d["metrics-addr"] = net.JoinHostPort(guestconfig.GuestIP, fmt.Sprint(guestMetricsPort))
	}
	if len(d) > 0 {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("engine.daemon: %w", err)
		}
		cfg.Engine.DaemonJSON = b
	}
	if len(r.DNS) > 0 {
		cfg.Network.DNS = r.DNS
	}
	return cfg.Validate()
}

// guestURL points a proxy on the host's loopback at the address the guest
// reaches the host's loopback by.
func guestURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		if p := u.Port(); p != "" {
			u.Host = net.JoinHostPort(guestconfig.HostIP, p)
		} else {
			u.Host = guestconfig.HostIP
		}
	}
	return u.String()
}

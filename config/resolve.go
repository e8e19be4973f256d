package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/guest/guestconfig"
)

// Host is what the defaults and limits depend on.
type Host struct {
	CPUs      int
	MemoryMiB int
	Home      string
}

// Resolved is a config with every default filled in.
type Resolved struct {
	CPUs        int
	MemoryMiB   int
	DiskGiB     int
	Accel       string
	Rosetta     bool
	Arch        string // as the file asks; "" when unset (the machine's own, or the host's for a new one)
	Shares      []Share
	DefaultBind string
	Daemon      map[string]any
	Proxy       Proxy
	MetricsPort int
	DNS         []string
	// SaverIdle is resourceSaver.idle; zero: the saver is off.
	SaverIdle time.Duration
	// Dashboard is dashboard.enabled (default true); DashboardPort is
	// dashboard.port, 0 for one chosen at start.
	Dashboard bool
	// FastStart is fastStart (default true).
	FastStart     bool
	DashboardPort int
}

// DefaultSaverIdle is resourceSaver.idle when the file does not set it.
const DefaultSaverIdle = 5 * time.Minute

// Resolve fills the defaults, section by section, without validating.
func Resolve(c *Config, h Host) (Resolved, error) {
	var r Resolved
	var errs []error
	r.CPUs = defaultCPUs(h.CPUs)
	if c.CPUs != nil {
		r.CPUs = *c.CPUs
	}
	r.MemoryMiB = 2048
	if c.Memory != nil {
		v, err := ParseSize(*c.Memory)
		if err != nil {
			errs = append(errs, fmt.Errorf("memory: %w", err))
		}
		r.MemoryMiB = int(v >> 20)
	}
	r.DiskGiB = 64
	if c.Disk != nil {
		v, err := ParseSize(*c.Disk)
		if err != nil {
			errs = append(errs, fmt.Errorf("disk: %w", err))
		}
		r.DiskGiB = int(v >> 30)
	}
	if c.Accel != nil {
		r.Accel = *c.Accel
	}
	if c.Rosetta != nil {
		r.Rosetta = *c.Rosetta
	}
	if c.Arch != nil {
		r.Arch = *c.Arch
	}
	r.Shares = resolveShares(c.Shares, h.Home)
	r.DefaultBind = "all"
	if c.Ports.DefaultBind != nil {
		r.DefaultBind = *c.Ports.DefaultBind
	}
	r.Daemon = c.Engine.Daemon
	r.Proxy = c.Engine.Proxy
	if c.Engine.MetricsPort != nil {
		r.MetricsPort = *c.Engine.MetricsPort
	}
	r.DNS = c.DNS.Servers
	r.SaverIdle = DefaultSaverIdle
	if c.ResourceSaver.Idle != nil {
		d, err := parseIdle(*c.ResourceSaver.Idle)
		if err != nil {
			errs = append(errs, fmt.Errorf("resourceSaver.idle: %w", err))
		}
		r.SaverIdle = d
	}
	r.Dashboard = c.Dashboard.Enabled == nil || *c.Dashboard.Enabled
	r.FastStart = c.FastStart == nil || *c.FastStart
	if c.Dashboard.Port != nil {
		r.DashboardPort = *c.Dashboard.Port
	}
	return r, errors.Join(errs...)
}

func defaultCPUs(host int) int {
	if host <= 2 {
		return max(host, 1)
	}
	return min(host/2, 4)
}

// resolveShares defaults to the home directory, read-write.
func resolveShares(s []Share, home string) []Share {
	if s == nil {
		if home == "" {
			return nil
		}
		return []Share{{Path: home}}
	}
	out := make([]Share, len(s))
	for i, sh := range s {
		p := sh.Path
		if p == "~" || strings.HasPrefix(p, "~/") {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
		out[i] = Share{Path: p, ReadOnly: sh.ReadOnly, WindowsPath: sh.WindowsPath}
	}
	return out
}

// parseIdle reads a duration of at least zero: "5m", "90s", "1h30m", "0".
func parseIdle(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 5m, 90s, 1h; 0 turns the resource saver off)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative (a duration such as 5m, or 0 to turn the resource saver off)", s)
	}
	return d, nil
}

var sizeRE = regexp.MustCompile(`^(\d+)\s*([KMGT]i?B?|[KMGT]|B)?$`)

// ParseSize reads "2GiB", "512MiB", "2G" (binary units; a bare number is bytes).
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (examples: 512MiB, 2GiB)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	shift := map[byte]uint{'K': 10, 'M': 20, 'G': 30, 'T': 40}
	if m[2] != "" && m[2] != "B" {
		n <<= shift[m[2][0]]
	}
	return n, nil
}

// Validate checks a resolved config against the host, returning every
// problem at once, each naming its field and what it accepts.
func Validate(r Resolved, h Host) error {
	var errs []error
	if r.CPUs < 1 || (h.CPUs > 0 && r.CPUs > h.CPUs) {
		errs = append(errs, fmt.Errorf("cpus: %d is out of range: this host has %d CPUs (allowed: 1-%d)", r.CPUs, h.CPUs, h.CPUs))
	}
	if r.MemoryMiB < 512 || (h.MemoryMiB > 0 && r.MemoryMiB > h.MemoryMiB-512) {
		errs = append(errs, fmt.Errorf("memory: %d MiB is out of range: this host has %d MiB (allowed: 512MiB to %dMiB, leaving 512MiB to the host)", r.MemoryMiB, h.MemoryMiB, h.MemoryMiB-512))
	}
	if r.DiskGiB < 4 {
		errs = append(errs, fmt.Errorf("disk: %d GiB is too small (at least 4GiB)", r.DiskGiB))
	}
	switch r.Accel {
	case "", "kvm", "hvf", "whpx", "tcg":
	default:
		errs = append(errs, fmt.Errorf("accel: %q is not one of kvm, hvf, whpx, tcg (or unset for automatic)", r.Accel))
	}
	switch r.Arch {
	case "", "amd64", "arm64":
	default:
		errs = append(errs, fmt.Errorf("arch: %q is not one of amd64, arm64 (or unset for the host's)", r.Arch))
	}
	for i, s := range r.Shares {
		if !filepath.IsAbs(s.Path) {
			errs = append(errs, fmt.Errorf("shares[%d].path: %q must be an absolute path (or start with ~/)", i, s.Path))
		} else if fi, err := os.Stat(s.Path); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("shares[%d].path: %q is not an existing directory", i, s.Path))
		}
	}
	if r.DefaultBind != "all" && r.DefaultBind != "loopback" {
		errs = append(errs, fmt.Errorf("ports.defaultBind: %q is not one of all, loopback", r.DefaultBind))
	}
	// The guest's own list, so validate refuses exactly what start would.
	for _, k := range guestconfig.ReservedDaemonKeys {
		if _, ok := r.Daemon[k]; ok {
			errs = append(errs, fmt.Errorf("engine.daemon.%s: set by Berth itself and cannot be changed "+
				"(the VM's engine gets it from Berth, or it would move the engine's data off the data disk)", k))
		}
	}
	for _, p := range []struct{ name, v string }{{"http", r.Proxy.HTTP}, {"https", r.Proxy.HTTPS}} {
		name, v := p.name, p.v
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("engine.proxy.%s: %q is not a URL like http://proxy.example:3128", name, v))
		}
	}
	if r.MetricsPort != 0 && (r.MetricsPort < 1 || r.MetricsPort > 65535) {
		errs = append(errs, fmt.Errorf("engine.metricsPort: %d is not a port (1-65535)", r.MetricsPort))
	}
	if r.DashboardPort < 0 || r.DashboardPort > 65535 {
		errs = append(errs, fmt.Errorf("dashboard.port: %d is not a port (1-65535, or 0 for one chosen at start)", r.DashboardPort))
	}
	for i, s := range r.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			errs = append(errs, fmt.Errorf("dns.servers[%d]: %q is not an IP address", i, s))
		}
	}
	return errors.Join(errs...)
}

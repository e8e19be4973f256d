// Package guestconfig is the contract between the host agent and the guest
// init: the host renders a Config, ships it inside the initramfs at
// [Path], and the guest's PID 1 reads it before anything else.
//
// In a WSL2 distro there is no initramfs: the host hands the same Config to
// `berth-init --wsl` on its standard input (see package initd).
//
// The config travels inside the initramfs (a small cpio archive appended to
// the image's initramfs at every boot) rather than on the kernel command line
// (which is capped at 2 KiB on x86) or in fw_cfg (QEMU-only), so the same
// mechanism serves every hypervisor that boots a kernel directly.
package guestconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Path is where the config sits in the guest's initramfs.
const Path = "/berth/config.json"

// Well-known addresses of the private virtual network. The host agent runs
// the network (gvisor-tap-vsock) in-process; nothing outside the agent can
// reach these addresses.
const (
	Subnet    = "192.168.127.0/24"
	GatewayIP = "192.168.127.1"   // the host agent's side; source of every host→guest connection
	GuestIP   = "192.168.127.2"   // the VM
	HostIP    = "192.168.127.254" // NATed to the host's loopback (host.docker.internal)
	// GuestLoopbackIP is a second address of the guest: the guest maps
	// connections from the gateway to it onto its own 127.0.0.1, so the host
	// agent can forward ports the engine binds to the guest's loopback
	// (`-p 127.0.0.1:8080:80`).
	GuestLoopbackIP = "192.168.127.3"
	GuestMAC        = "5a:94:ef:e4:0c:ee"
	PrefixLen       = 24
	// LinkMTU is the MTU of the virtual link, and of the engine's bridges.
	// Under emulation the guest's cost is per packet (neither end passes
	// offloads), so the largest frame the link can carry moves the most
	// bytes per packet: forwarded connections end in the agent's own TCP
	// stack, so nothing beyond the link ever sees these frames.
	LinkMTU = 65520
)

// Ports the guest listens on, only on its private address and only for the
// gateway (see [Config.AllowFrom]).
const (
	DockerPort = 2375 // dockerd's TCP API
	AgentPort  = 2380 // the guest agent's HTTP API (health, shutdown)
	// SharePort takes the host agent's SFTP connections, one per share,
	// when FileSharing is SFTP: each begins with the share's tag and a
	// newline, and the init mounts it with sshfs in passive mode.
	SharePort = 2381
)

// FileSharingSFTP: the shares reach the guest over SFTP on connections the
// host agent makes to SharePort (a hypervisor without virtio-fs).
const FileSharingSFTP = "sftp"

// LinkVsockPort is the AF_VSOCK port the guest init listens on in a WSL 2
// distro for the network link when its command line names none (--link
// vsock; the WSL 2 driver gives each machine a port of its own with
// --link vsock:PORT): the switch's frames, each behind its
// 4-byte big-endian length (QEMU's stream framing). The host agent
// reaches it as the Hyper-V socket service of that port in the WSL VM.
const LinkVsockPort = 6215

// Console markers the guest init prints on the serial console, one per line.
// The host agent and the boot benchmark watch for them.
const (
	MarkerInitStarted = "BERTH-INIT-STARTED"
	MarkerEngineReady = "BERTH-ENGINE-READY"
	MarkerPowerOff    = "BERTH-POWER-OFF"
	// MarkerInitFailed starts a line "BERTH-INIT-FAILED <reason>" printed
	// when the guest cannot come up far enough to answer its API (no root
	// disk, an invalid config); the guest powers off right after it.
	MarkerInitFailed = "BERTH-INIT-FAILED"
)

// Config is everything the guest init needs to bring the machine up.
type Config struct {
	// Hostname of the VM.
	Hostname string `json:"hostname"`
	// Network of the VM's single NIC (eth0).
	Network Network `json:"network"`
	// DataDisk is the persistent disk mounted at /var/lib/docker.
	DataDisk DataDisk `json:"dataDisk"`
	// RootDevice is the image's read-only root disk; empty: RootDeviceVirtio.
	RootDevice string `json:"rootDevice,omitempty"`
	// Link, when set, is where the network link arrives in a VM without a
	// card of its own: "vsock:PORT", an AF_VSOCK port the host dials (a
	// Hyper-V VM, over hv_sock). The init then makes eth0 a tap carrying
	// the link's frames, as in WSL. Empty: eth0 is the VM's virtio card.
	Link string `json:"link,omitempty"`
	// Engine settings.
	Engine Engine `json:"engine"`
	// Shares are host folders to mount before the engine starts, parents
	// before the folders inside them.
	Shares []Share `json:"shares,omitempty"`
	// FileSharing is how the shares arrive: "" by tag from the hypervisor
	// (virtio-fs), FileSharingSFTP over the host agent's connections.
	FileSharing string `json:"fileSharing,omitempty"`
	// Modules are kernel modules to load before the engine starts, in order.
	Modules []string `json:"modules,omitempty"`
	// Rosetta: the host shares Apple's Rosetta under the virtio-fs tag
	// "rosetta"; an arm64 guest runs amd64 binaries through it instead of
	// QEMU's emulator.
	Rosetta bool `json:"rosetta,omitempty"`
	// HostTime is the host's clock when the config was rendered; the guest
	// sets its clock from it if the hardware clock is behind.
	HostTime time.Time `json:"hostTime"`
	// Debug makes the init log more to the console.
	Debug bool `json:"debug,omitempty"`
}

// Network configures eth0 statically; no DHCP round trip at boot.
type Network struct {
	Address   string   `json:"address"`   // CIDR, e.g. 192.168.127.2/24
	Gateway   string   `json:"gateway"`   // default route and DNS server
	DNS       []string `json:"dns"`       // resolv.conf nameservers
	MTU       int      `json:"mtu"`       // 0 means the driver default
	AllowFrom string   `json:"allowFrom"` // the only source allowed to reach DockerPort and AgentPort
}

// DataDisk names the block device that holds the engine's state.
type DataDisk struct {
	// Device, e.g. /dev/vdb.
	Device string `json:"device"`
	// Label given to the file system when the disk is formatted on first boot.
	Label string `json:"label"`
}

// Share is a host folder the hypervisor exposes under a tag. The guest
// mounts it with virtiofs, or 9p where the hypervisor offers only that.
type Share struct {
	Tag string `json:"tag"`
	// Path is the mount point in the guest: the host's own path where it
	// is a Unix path, so a bind mount of a host path works unchanged.
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Engine holds the docker daemon's settings.
type Engine struct {
	// DaemonJSON is written to the daemon's --config-file verbatim. The
	// guest adds "hosts" itself; a "hosts" key here is an error.
	DaemonJSON json.RawMessage `json:"daemonJSON,omitempty"`
	// StopTimeout is how long the guest waits for dockerd to stop its
	// containers on shutdown before killing it.
	StopTimeout Duration `json:"stopTimeout"`
}

// ReservedDaemonKeys are daemon.json keys the guest sets itself, through
// dockerd's flags (dockerd refuses a setting given both ways), or that would
// move the engine's state off the data disk.
var ReservedDaemonKeys = []string{"hosts", "containerd", "pidfile", "tls", "data-root", "exec-root"}

// Duration is a time.Duration that marshals as a string ("10s").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"10s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Default returns the config for the default network layout.
func Default() Config {
	return Config{
		Hostname: "berth",
		Network: Network{
			Address:   fmt.Sprintf("%s/%d", GuestIP, PrefixLen),
			Gateway:   GatewayIP,
			DNS:       []string{GatewayIP},
			MTU:       LinkMTU,
			AllowFrom: GatewayIP,
		},
		DataDisk: DataDisk{Device: "/dev/vdb", Label: "berth-data"},
		Engine:   Engine{StopTimeout: Duration(10 * time.Second)},
		Modules: []string{
			"virtio_net", "virtio_rng", "virtio_balloon", "overlay", "bridge", "br_netfilter", "veth",
			"nf_tables", "nft_chain_nat", "nft_compat", "nf_nat", "nf_conntrack",
			"xt_conntrack", "xt_MASQUERADE", "xt_addrtype", "iptable_nat", "iptable_filter",
			"binfmt_misc", // images of the other architecture
		},
	}
}

// RootDeviceVirtio is the root disk of a VM whose disks are virtio (QEMU,
// vz): the first one.
const RootDeviceVirtio = "/dev/vda"

// Root is the root disk's device.
func (c Config) Root() string {
	if c.RootDevice == "" {
		return RootDeviceVirtio
	}
	return c.RootDevice
}

// HyperV is cfg for a VM of the Host Compute Service: its disks are SCSI
// (hv_storvsc: the root disk /dev/sda, the data disk /dev/sdb), it has no
// card (the link is the AF_VSOCK port LinkVsockPort, over hv_sock), and
// its integration services (hv_utils: the host's shutdown request, time)
// and balloon are Hyper-V's, not virtio's.
func HyperV(cfg Config) Config {
	cfg.RootDevice = "/dev/sda"
	cfg.DataDisk.Device = "/dev/sdb"
	cfg.Link = fmt.Sprintf("vsock:%d", LinkVsockPort)
	mods := []string{"hv_sock", "hv_utils", "hv_balloon"}
	for _, m := range cfg.Modules {
		if !strings.HasPrefix(m, "virtio_") && !slices.Contains(mods, m) {
			mods = append(mods, m)
		}
	}
	cfg.Modules = mods
	return cfg
}

// Validate checks the config of a VM; it returns every problem at once.
func (c Config) Validate() error {
	errs := append(c.validateCommon(), c.Network.validate()...)
	if c.RootDevice != "" && (!strings.HasPrefix(c.RootDevice, "/dev/") || path.Clean(c.RootDevice) != c.RootDevice) {
		errs = append(errs, fmt.Errorf("rootDevice: %q is not a clean path under /dev", c.RootDevice))
	}
	if c.Link != "" {
		p, ok := strings.CutPrefix(c.Link, "vsock:")
		n, err := strconv.ParseUint(p, 10, 32)
		if !ok || err != nil || n == 0 || n == 1<<32-1 || strconv.FormatUint(n, 10) != p {
			errs = append(errs, fmt.Errorf("link: %q, want vsock:PORT with a port from 1 to %d", c.Link, uint32(1<<32-2)))
		}
	}
	for i, sh := range c.Shares {
		if sh.Tag == "" || len(sh.Tag) > 36 {
			errs = append(errs, fmt.Errorf("shares[%d].tag: %q must be 1-36 bytes (virtiofs' limit)", i, sh.Tag))
		}
		if !strings.HasPrefix(sh.Path, "/") || path.Clean(sh.Path) != sh.Path || sh.Path == "/" {
			errs = append(errs, fmt.Errorf("shares[%d].path: %q must be a clean absolute path other than /", i, sh.Path))
		}
	}
	if c.FileSharing != "" && c.FileSharing != FileSharingSFTP {
		errs = append(errs, fmt.Errorf("fileSharing: %q, want \"\" or %q", c.FileSharing, FileSharingSFTP))
	}
	if c.DataDisk.Device == "" {
		errs = append(errs, errors.New("dataDisk.device: must not be empty"))
	}
	return errors.Join(errs...)
}

// ValidateWSL checks the config of a WSL2 distro, where WSL owns the disk
// and Windows' drives: dataDisk, shares and modules do not apply and are
// not looked at. The network does: the init gives its own network
// namespace a card (a tap) joined to the host agent's switch.
func (c Config) ValidateWSL() error {
	errs := c.validateCommon()
	return errors.Join(append(errs, c.Network.validate()...)...)
}

func (n Network) validate() []error {
	var errs []error
	if _, err := netip.ParsePrefix(n.Address); err != nil {
		errs = append(errs, fmt.Errorf("network.address: %w", err))
	}
	if _, err := netip.ParseAddr(n.Gateway); err != nil {
		errs = append(errs, fmt.Errorf("network.gateway: %w", err))
	}
	if _, err := netip.ParseAddr(n.AllowFrom); err != nil {
		errs = append(errs, fmt.Errorf("network.allowFrom: %w", err))
	}
	return errs
}

func (c Config) validateCommon() []error {
	var errs []error
	if c.Hostname == "" {
		errs = append(errs, errors.New("hostname: must not be empty"))
	}
	for i, d := range c.Network.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			errs = append(errs, fmt.Errorf("network.dns[%d]: %w", i, err))
		}
	}
	if len(c.Engine.DaemonJSON) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c.Engine.DaemonJSON, &m); err != nil {
			errs = append(errs, fmt.Errorf("engine.daemonJSON: must be a JSON object: %w", err))
		} else {
			for _, k := range ReservedDaemonKeys {
				if _, ok := m[k]; ok {
					errs = append(errs, fmt.Errorf("engine.daemonJSON: %q is set by the guest and must not be given", k))
				}
			}
		}
	}
	return errs
}

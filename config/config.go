// Package config is the user's machine configuration: $BERTH_HOME/config.yaml.
//
// Loading, defaults and validation are separate passes (as in Lima's
// limayaml): Load parses and warns about unknown keys; Resolve fills the
// defaults for this host; Validate checks the result and reports every
// problem at once, naming the field and what it accepts. A file that does
// not validate is never applied, in part or in whole.
package config

// FileName is the config file in the state directory.
const FileName = "config.yaml"

// Config is the file as written: optional fields are pointers, so "not
// set" (take the default) differs from a zero the user wrote.
type Config struct {
	CPUs   *int    `yaml:"cpus,omitempty"`
	Memory *string `yaml:"memory,omitempty"`
	Disk   *string `yaml:"disk,omitempty"`
	Accel  *string `yaml:"accel,omitempty"`
	// Rosetta runs amd64 images through Apple's Rosetta (the vz driver on
	// Apple silicon) instead of QEMU's emulator.
	Rosetta *bool `yaml:"rosetta,omitempty"`
	// Arch is the VM's architecture (amd64, arm64); unset, the host's. A
	// machine keeps the one it was created with.
	Arch *string `yaml:"arch,omitempty"`

	Shares []Share `yaml:"shares,omitempty"`
	Ports  Ports   `yaml:"ports,omitempty"`
	Engine Engine  `yaml:"engine,omitempty"`
	DNS    DNS     `yaml:"dns,omitempty"`

	ResourceSaver ResourceSaver `yaml:"resourceSaver,omitempty"`
	// FastStart: `berth stop` stops the containers, then saves the VM with
	// its engine still up, and the next start restores it instead of
	// booting (default true; the QEMU driver on Linux).
	FastStart *bool     `yaml:"fastStart,omitempty"`
	Dashboard Dashboard `yaml:"dashboard,omitempty"`
}

// Dashboard is the web page the host agent serves on host loopback.
type Dashboard struct {
	// Enabled: false turns the page off (default on).
	Enabled *bool `yaml:"enabled,omitempty"`
	// Port is its port on 127.0.0.1; unset or 0, one is chosen at each start.
	Port *int `yaml:"port,omitempty"`
}

// ResourceSaver pauses the VM while nothing uses it.
type ResourceSaver struct {
	// Idle is how long the machine runs no container and answers no
	// request before its VM is paused: a duration ("5m", "90s"); "0"
	// turns the saver off.
	Idle *string `yaml:"idle,omitempty"`
}

// Share is a host folder shared into the VM at the same path.
type Share struct {
	Path     string `yaml:"path"`
	ReadOnly bool   `yaml:"readOnly,omitempty"`
	// WindowsPath is the Windows folder (`C:\data`, or a whole drive `E:`)
	// that docker CLIs on Windows name for this share; the socket bridge
	// rewrites bind sources under it to Path. On a Windows host it defaults
	// to Path itself.
	WindowsPath string `yaml:"windowsPath,omitempty"`
}

// Ports holds the defaults for forwarded ports.
type Ports struct {
	// DefaultBind is the host address for ports published without one:
	// "all" (Docker's meaning, the default) or "loopback".
	DefaultBind *string `yaml:"defaultBind,omitempty"`
}

// Engine holds the docker daemon's settings.
type Engine struct {
	// Daemon is merged into the engine's daemon.json: any key dockerd
	// accepts (registry-mirrors, insecure-registries, features, log-driver...).
	Daemon map[string]any `yaml:"daemon,omitempty"`
	// Proxy is the engine's HTTP(S) proxy, for pulls and builds.
	Proxy Proxy `yaml:"proxy,omitempty"`
	// Metrics exposes the engine's Prometheus endpoint on host loopback.
	MetricsPort *int `yaml:"metricsPort,omitempty"`
}

// Proxy is the corporate-proxy case.
type Proxy struct {
	HTTP    string `yaml:"http,omitempty"`
	HTTPS   string `yaml:"https,omitempty"`
	NoProxy string `yaml:"noProxy,omitempty"`
}

// DNS overrides the VM's resolvers (default: the host's, through the
// virtual network's gateway).
type DNS struct {
	Servers []string `yaml:"servers,omitempty"`
}

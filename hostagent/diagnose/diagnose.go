// Package diagnose writes the bundle a bug report needs: status, versions,
// the machine's logs, and the config with secrets redacted.
package diagnose

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/kernel"
	"github.com/berth-dev/berth/store"
)

// Options name what goes into the bundle.
type Options struct {
	Machine    store.Machine
	ConfigPath string
	ImageDir   string
	Status     *api.Status
	Version    string
	// DriverLogs are the machine driver's own logs (vm.Capabilities.LogFiles).
	DriverLogs []string
	// DriverReport is what the driver tells of its hypervisor (vm.Reporter),
	// by file name.
	DriverReport map[string]string
}

// logFiles are copied as they are (their tails when large).
var logFiles = []string{store.AgentLogFile, store.SerialLogFile, store.MachineFile}

const maxLog = 4 << 20

// Write writes the bundle as a tar.gz to w.
func Write(w io.Writer, o Options) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now()
	// Everything in the bundle passes through RedactText: logs quote
	// requests, configs and environments, and nothing of them is read
	// more carefully than that.
	add := func(name string, b []byte) error {
		b = RedactText(b)
		if err := tw.WriteHeader(&tar.Header{Name: "berth-diagnose/" + name, Mode: 0o600, Size: int64(len(b)), ModTime: now}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	st, _ := json.MarshalIndent(o.Status, "", "  ")
	if err := add("status.json", st); err != nil {
		return err
	}
	if err := add("versions.txt", []byte(versions(o))); err != nil {
		return err
	}
	if b, err := os.ReadFile(o.ConfigPath); err == nil {
		if err := add("config.yaml", Redact(b)); err != nil {
			return err
		}
	}
	for _, f := range append(logFiles, o.DriverLogs...) {
		b, err := readTail(o.Machine.Path(f), maxLog)
		if err != nil {
			continue
		}
		if err := add(f, b); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(o.DriverReport))
	for name := range o.DriverReport {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := add("driver/"+path.Base(name), []byte(o.DriverReport[name])); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func readTail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		if _, err := f.Seek(-max, io.SeekEnd); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(f)
}

func versions(o Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "berth: %s\nhost: %s/%s, %d CPUs\ngo: %s\n", o.Version, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if m, err := kernel.ReadManifest(o.ImageDir); err == nil {
		fmt.Fprintf(&b, "guest image: %s (%s, kernel %s, docker.io %s, containerd %s)\n",
			m.Version, m.Suite, m.KernelRelease, m.Packages["docker.io"], m.Packages["containerd"])
	} else {
		fmt.Fprintf(&b, "guest image: %v\n", err)
	}
	for _, q := range []string{"qemu-system-x86_64", "qemu-system-aarch64"} {
		if out, err := exec.Command(q, "--version").Output(); err == nil {
			first, _, _ := strings.Cut(string(out), "\n")
			fmt.Fprintf(&b, "%s: %s\n", q, first)
		}
	}
	return b.String()
}

var secretKey = regexp.MustCompile(`(?i)(pass|secret|token|auth|key|credential)`)

// Redact removes secrets from a config file: credentials in URLs and the
// values of keys that name secrets. A file that does not parse is left out
// except for its size, since it cannot be redacted reliably.
func Redact(doc []byte) []byte {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return []byte(fmt.Sprintf("# config.yaml does not parse (%v); %d bytes left out\n", err, len(doc)))
	}
	redactNode(&root, false)
	out, err := yaml.Marshal(&root)
	if err != nil {
		return []byte("# config.yaml could not be re-encoded; left out\n")
	}
	return out
}

func redactNode(n *yaml.Node, secret bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			redactNode(n.Content[i+1], secret || secretKey.MatchString(n.Content[i].Value))
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			redactNode(c, secret)
		}
	case yaml.ScalarNode:
		if secret {
			n.Value, n.Tag, n.Style = Redacted, "!!str", 0
			return
		}
		if u, err := url.Parse(n.Value); err == nil && u.User != nil {
			u.User = url.User(Redacted)
			n.Value = u.String()
		}
		// A URL that does not parse (a password with a stray %) still
		// loses its user information.
		n.Value = string(RedactText([]byte(n.Value)))
	}
}

// DefaultName is the bundle's file name for now.
func DefaultName(t time.Time) string {
	return filepath.Clean("berth-diagnose-" + t.Format("20060102-150405") + ".tar.gz")
}

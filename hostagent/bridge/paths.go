package bridge

import (
	"fmt"
	"path"
	"strings"
)

// Share is one host folder as the guest sees it.
type Share struct {
	// HostPath is the folder in the host's own notation ("/home/me",
	// `C:\Users\me`), for messages.
	HostPath string
	// GuestPath is where the guest mounts it (an absolute Linux path).
	GuestPath string
	// WindowsPath is the folder as a docker CLI on Windows names it
	// (`C:\Users\me`, `E:`); empty when the share has no Windows name.
	WindowsPath string
}

// Paths tells the bridge which bind sources exist in the guest.
type Paths struct {
	Shares []Share
	// GuestOnly are guest paths a bind may name although no share holds
	// them, such as the engine's own socket.
	GuestOnly []string
	// Hint ends the error for an unshared path: how to share a folder.
	Hint string
}

// DefaultGuestOnly are paths that exist in the VM itself and that
// containers commonly bind: the engine socket (docker-in-docker tools),
// kernel interfaces and the VM's clock zone.
var DefaultGuestOnly = []string{
	"/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker",
	"/proc", "/sys", "/dev", "/lib/modules", "/etc/localtime",
}

// PathError is a bind source no share holds.
type PathError struct {
	Source string
	Hint   string
	Shared []string
}

func (e *PathError) Error() string {
	shared := "none"
	if len(e.Shared) > 0 {
		shared = strings.Join(e.Shared, ", ")
	}
	msg := fmt.Sprintf("bind source path %s is not shared with the Berth VM (shared folders: %s), so the container would see an empty directory", e.Source, shared)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// resolve maps one bind source to its guest path. A named volume or a
// relative path comes back unchanged.
func (p *Paths) resolve(src string) (string, error) {
	if drive, rest, ok := parseWindows(src); ok {
		return p.resolveWindows(src, drive, rest)
	}
	if !strings.HasPrefix(src, "/") {
		return src, nil // a named volume
	}
	clean := path.Clean(src)
	if clean == "/" {
		// The host's root is never shared, so "/" can only mean the VM's
		// own root, as on Docker Desktop: `-v /:/host ... chroot /host`
		// is how one looks inside the VM. Below it only shared and
		// GuestOnly paths pass (within treats "/" as holding everything,
		// so it is not a GuestOnly entry).
		return src, nil
	}
	for _, s := range p.Shares {
		if within(clean, s.GuestPath) {
			return src, nil
		}
	}
	for _, g := range p.GuestOnly {
		if within(clean, g) {
			return src, nil
		}
	}
	return "", p.errorFor(src)
}

func (p *Paths) resolveWindows(src, drive, rest string) (string, error) {
	full := drive + ":" + rest
	best, bestLen := -1, -1
	for i, s := range p.Shares {
		if s.WindowsPath == "" {
			continue
		}
		d, r, ok := parseWindows(s.WindowsPath)
		if !ok {
			continue
		}
		prefix := d + ":" + r
		if withinFold(full, prefix) && len(prefix) > bestLen {
			best, bestLen = i, len(prefix)
		}
	}
	if best < 0 {
		return "", p.errorFor(src)
	}
	tail := full[bestLen:]
	tail = strings.TrimPrefix(tail, "/")
	g := p.Shares[best].GuestPath
	if tail == "" {
		return g, nil
	}
	return strings.TrimSuffix(g, "/") + "/" + tail, nil
}

func (p *Paths) errorFor(src string) error {
	e := &PathError{Source: src, Hint: p.Hint}
	for _, s := range p.Shares {
		name := s.HostPath
		if s.WindowsPath != "" && s.WindowsPath != s.HostPath {
			name = s.WindowsPath + " (" + s.HostPath + ")"
		}
		e.Shared = append(e.Shared, name)
	}
	return e
}

// parseWindows recognises the forms a Windows docker CLI sends for a
// folder: `C:\data`, `C:/data`, `C:` and the MSYS form `//c/data`. It
// returns the lower-case drive letter and the rest as a clean path with
// forward slashes ("/data", "" for the drive's root). UNC paths
// (`\\server\share`) are Windows paths too, with drive "" and ok true.
func parseWindows(s string) (drive, rest string, ok bool) {
	switch {
	case len(s) >= 2 && isLetter(s[0]) && s[1] == ':' && (len(s) == 2 || s[2] == '\\' || s[2] == '/'):
		drive, rest = strings.ToLower(s[:1]), s[2:]
	case len(s) >= 3 && s[0] == '/' && s[1] == '/' && isLetter(s[2]) && (len(s) == 3 || s[3] == '/'):
		drive, rest = strings.ToLower(s[2:3]), s[3:]
	case strings.HasPrefix(s, `\\`):
		return "", "", true
	default:
		return "", "", false
	}
	rest = strings.ReplaceAll(rest, `\`, "/")
	rest = path.Clean("/" + rest)
	if rest == "/" {
		rest = ""
	}
	return drive, rest, true
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// within reports whether p is dir or below it (both clean, absolute).
func within(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return p == dir || dir == "" || strings.HasPrefix(p, dir+"/")
}

// withinFold is within for Windows paths, which ignore case.
func withinFold(p, dir string) bool {
	if len(p) < len(dir) || !strings.EqualFold(p[:len(dir)], dir) {
		return false
	}
	return len(p) == len(dir) || p[len(dir)] == '/'
}

// splitBind splits a Binds entry "src:dst[:opts]" into its source and
// the rest (":dst[:opts]"), minding the colon of a Windows drive. A
// drive-like source without a destination ("c:/data") is the engine's
// named volume "c" at /data, not a Windows path.
func splitBind(b string) (src, rest string) {
	if len(b) >= 3 && isLetter(b[0]) && b[1] == ':' && (b[2] == '\\' || b[2] == '/') {
		if i := strings.IndexByte(b[2:], ':'); i >= 0 {
			return b[:2+i], b[2+i:]
		}
	}
	if i := strings.IndexByte(b, ':'); i >= 0 {
		return b[:i], b[i:]
	}
	return b, ""
}

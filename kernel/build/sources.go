package build

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// DefaultKeyring is used when the chosen source names no Signed-By keyring.
// debian-archive-keyring in bookworm (2023.3+deb12u1 and later) already carries
// the trixie archive and release keys, so the host's keyring verifies trixie.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// MirrorEnv overrides the mirror found in the host's apt sources.
const MirrorEnv = "BERTH_IMAGE_MIRROR"

// AptSource is one enabled "deb" source of the host's apt configuration.
type AptSource struct {
	URI        string
	Suites     []string
	Components []string
	Signed     string // Signed-By: a keyring path, or empty
	Origin     string // file it came from, for error messages
	Disabled   bool
	debSource  bool // Types includes "deb" (not only deb-src)
}

// Mirror is the Debian archive the image's packages come from.
type Mirror struct {
	URI     string
	Keyring string
}

// HostSourceFiles lists the apt source files apt itself would read under
// etcApt (normally /etc/apt): sources.list and sources.list.d/*.list|*.sources.
// Files with other suffixes (*.disabled, *.save, ...) are ignored, as apt does.
func HostSourceFiles(etcApt string) []string {
	files := []string{filepath.Join(etcApt, "sources.list")}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", pat))
		sort.Strings(m)
		files = append(files, m...)
	}
	return files
}

// FindMirror picks the Debian archive from the host's apt sources, or from
// override when it is not empty.
func FindMirror(override string, files []string) (Mirror, error) {
	if override != "" {
		return Mirror{URI: strings.TrimRight(override, "/"), Keyring: DefaultKeyring}, nil
	}
	var all []AptSource
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return Mirror{}, fmt.Errorf("reading apt sources: %w", err)
		}
		var srcs []AptSource
		if strings.HasSuffix(f, ".sources") {
			srcs = ParseDeb822Sources(string(b), f)
		} else {
			srcs = ParseOneLineSources(string(b), f)
		}
		all = append(all, srcs...)
	}
	m, ok := PickDebianArchive(all)
	if !ok {
		return Mirror{}, fmt.Errorf("no Debian archive (a source with a suite like bookworm) in %s; set %s to a Debian mirror URL",
			strings.Join(files, ", "), MirrorEnv)
	}
	return m, nil
}

// debianReleases are the code names a Debian archive source may name.
var debianReleases = map[string]bool{
	"buster": true, "bullseye": true, "bookworm": true, "trixie": true, "forky": true, "duke": true,
	"stable": true, "oldstable": true, "testing": true, "unstable": true, "sid": true,
}

// PickDebianArchive returns the first enabled deb source that looks like the
// Debian archive: a plain release suite (bookworm, not bookworm-security, which
// lives in another archive), the "main" component, and a URI path ending in
// /debian. The last two keep out third-party repositories that reuse Debian
// code names as suites (download.docker.com uses "bookworm stable").
func PickDebianArchive(srcs []AptSource) (Mirror, bool) {
	for _, s := range srcs {
		if s.Disabled || !s.debSource || !slices.Contains(s.Components, "main") ||
			!strings.HasSuffix(strings.TrimRight(s.URI, "/"), "/debian") {
			continue
		}
		for _, suite := range s.Suites {
			if debianReleases[suite] {
				k := s.Signed
				if k == "" || strings.Contains(k, "-----BEGIN") {
					k = DefaultKeyring
				}
				return Mirror{URI: strings.TrimRight(s.URI, "/"), Keyring: k}, true
			}
		}
	}
	return Mirror{}, false
}

// ParseOneLineSources parses the one-line format:
//
//	deb [signed-by=/k.gpg arch=amd64] http://host/debian bookworm main
func ParseOneLineSources(text, origin string) []AptSource {
	var out []AptSource
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		f := strings.Fields(line)
		if len(f) < 3 || (f[0] != "deb" && f[0] != "deb-src") {
			continue
		}
		s := AptSource{Origin: origin, debSource: f[0] == "deb"}
		rest := f[1:]
		if strings.HasPrefix(rest[0], "[") {
			// Options may contain spaces: collect until the closing bracket.
			opts := []string{}
			for len(rest) > 0 {
				o := rest[0]
				rest = rest[1:]
				opts = append(opts, strings.Trim(o, "[]"))
				if strings.HasSuffix(o, "]") {
					break
				}
			}
			for _, o := range opts {
				k, v, _ := strings.Cut(o, "=")
				if strings.EqualFold(k, "signed-by") {
					s.Signed = v
				}
			}
		}
		if len(rest) < 2 {
			continue
		}
		s.URI, s.Suites, s.Components = rest[0], []string{rest[1]}, rest[2:]
		out = append(out, s)
	}
	return out
}

// ParseDeb822Sources parses the deb822 format (*.sources): stanzas separated
// by blank lines, "Enabled: no" disables a stanza, "#" lines are comments.
func ParseDeb822Sources(text, origin string) []AptSource {
	var out []AptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) == 0 {
			return
		}
		types := strings.Fields(fields["types"])
		s := AptSource{
			Origin:     origin,
			Suites:     strings.Fields(fields["suites"]),
			Components: strings.Fields(fields["components"]),
			Signed:     strings.TrimSpace(fields["signed-by"]),
			Disabled:   strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no"),
		}
		for _, t := range types {
			s.debSource = s.debSource || t == "deb"
		}
		for _, u := range strings.Fields(fields["uris"]) {
			s.URI = u
			out = append(out, s)
		}
		fields, last = map[string]string{}, ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" { // continuation (e.g. an inline keyring)
				fields[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

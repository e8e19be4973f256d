package initd

import (
	"slices"
	"strings"
)

// shareMounts are the mount points of shared folders (virtiofs or 9p) in a
// /proc/self/mountinfo, deepest first (the order to unmount them in).
func shareMounts(mountinfo string) []string {
	var points []string
	for _, line := range strings.Split(mountinfo, "\n") {
		before, after, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, fs := strings.Fields(before), strings.Fields(after)
		if len(f) < 5 || len(fs) < 1 {
			continue
		}
		if fs[0] == "virtiofs" || fs[0] == "9p" {
			points = append(points, unescapeMountinfo(f[4]))
		}
	}
	slices.SortStableFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return points
}

// unescapeMountinfo undoes the octal escapes mountinfo uses for space,
// tab, newline and backslash in paths.
func unescapeMountinfo(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

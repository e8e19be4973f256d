// Package winpath maps Windows paths to where a Linux guest sees them:
// the one mapping of C:\... to /mnt/c/... that the WSL 2 driver (the guest
// config's path) and the shares (a folder's path in the guest, on every
// driver) both use, so a bind of C:\data lands where the folder is.
package winpath

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// MntPath is where the Windows path p appears in the guest: as WSL mounts
// each drive, at /mnt/<drive letter, lower case> (its default automount
// root; Berth's other drivers mount shares there too), so C:\Users\u\x.json is /mnt/c/Users/u/x.json. p must be
// absolute on a drive letter; UNC paths (\\server\share, \\wsl$\...) and
// device paths have no place under /mnt and are refused, as are relative
// and drive-relative (C:x) paths. "." and ".." are resolved, and a
// \\?\C:\ prefix is accepted as the plain path.
func MntPath(p string) (string, error) {
	orig := p
	if strings.HasPrefix(p, `\\?\`) || strings.HasPrefix(p, `//?/`) {
		p = p[4:]
		if len(p) >= 4 && strings.EqualFold(p[:4], `UNC\`) {
			return "", fmt.Errorf("windows path %q: a UNC path: WSL mounts drive letters only (/mnt/<drive>)", orig)
		}
	}
	switch {
	case p == "":
		return "", errors.New("windows path: empty")
	case strings.HasPrefix(p, `\\.\`) || strings.HasPrefix(p, `//./`):
		return "", fmt.Errorf("windows path %q: a device path: WSL mounts drive letters only (/mnt/<drive>)", orig)
	case isSep(p[0]) && len(p) > 1 && isSep(p[1]):
		return "", fmt.Errorf("windows path %q: a UNC path (a network share or \\\\wsl$): WSL mounts drive letters only (/mnt/<drive>); use a folder on a drive", orig)
	case isSep(p[0]):
		return "", fmt.Errorf("windows path %q: no drive letter (C:\\...)", orig)
	case len(p) < 2 || p[1] != ':' || !isLetter(p[0]):
		return "", fmt.Errorf("windows path %q: relative; an absolute path on a drive (C:\\...) is needed", orig)
	case len(p) == 2 || !isSep(p[2]):
		return "", fmt.Errorf("windows path %q: relative to the drive's current folder; an absolute path (%s\\...) is needed", orig, p[:2])
	}
	drive := strings.ToLower(p[:1])
	rest := path.Clean("/" + strings.ReplaceAll(p[3:], `\`, "/"))
	return strings.TrimSuffix("/mnt/"+drive+rest, "/"), nil
}

func isSep(c byte) bool { return c == '\\' || c == '/' }

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

package initd

import (
	"strings"
)

// sshfsArgs is the sshfs command that mounts a share over SFTP on its
// standard input and output (passive mode: no ssh), in the foreground so
// that the init supervises it. allow_other: containers run as any user;
// the host side decides what each may do, as its user. Attributes and
// directory entries are cached for one second only, so a change made on
// the host is seen soon, as with Docker Desktop's shares. When the host
// side goes, sshfs ends and the mount with it.
func sshfsArgs(path string, readOnly bool) []string {
	opts := "passive,allow_other,idmap=none,dcache_timeout=1"
	if readOnly {
		opts += ",ro"
	}
	return []string{"sshfs", "-f", "-o", opts, "berth:/", path}
}

// mountFSType is the file system type of the topmost mount at path in a
// /proc/self/mountinfo text, "" when nothing is mounted there.
func mountFSType(mountinfo, path string) string {
	typ := ""
	for line := range strings.SplitSeq(mountinfo, "\n") {
		f := strings.Fields(line)
		// id parent dev root mountpoint options [optional...] - type source superopts
		if len(f) < 7 || unescapeMount(f[4]) != path {
			continue
		}
		for i := 6; i < len(f)-1; i++ {
			if f[i] == "-" {
				typ = f[i+1] // a later line is a mount on top
				break
			}
		}
	}
	return typ
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// shareTagLine reads the tag a share connection begins with: at most
// maxTag bytes and a newline.
func shareTagLine(read func([]byte) (int, error)) (string, bool) {
	const maxTag = 64
	var tag []byte
	one := make([]byte, 1)
	for len(tag) <= maxTag {
		n, err := read(one)
		if n == 1 {
			if one[0] == '\n' {
				return string(tag), len(tag) > 0
			}
			tag = append(tag, one[0])
			continue
		}
		if err != nil {
			return "", false
		}
	}
	return "", false
}

package exposure

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listening lists the sockets process pid listens on, with their
// addresses: those of its open files that /proc/<pid>/net lists as
// listening (tcp, udp, unix).
func Listening(pid int) ([]Socket, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	held, err := socketInodes(filepath.Join(dir, "fd"))
	if err != nil {
		return nil, err
	}
	var all []Socket
	for _, t := range []struct{ file, proto string }{{"tcp", "tcp"}, {"tcp6", "tcp"}, {"udp", "udp"}, {"udp6", "udp"}, {"unix", "unix"}} {
		f, err := os.Open(filepath.Join(dir, "net", t.file))
		if os.IsNotExist(err) {
			continue // no IPv6
		}
		if err != nil {
			return nil, err
		}
		var socks []Socket
		if t.proto == "unix" {
			socks, err = ParseUnix(f)
		} else {
			socks, err = ParseInet(f, t.proto)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		for _, s := range socks {
			if held[s.Inode] {
				all = append(all, s)
			}
		}
	}
	return all, nil
}

// socketInodes are the inodes of the sockets among a process's open files.
func socketInodes(fdDir string) (map[uint64]bool, error) {
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	held := map[uint64]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue // closed meanwhile, or not a socket
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
		if err == nil {
			held[n] = true
		}
	}
	return held, nil
}

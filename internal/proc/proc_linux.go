package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// stat is what we read from /proc/<pid>/stat.
type stat struct {
	state     byte
	startTime uint64 // clock ticks after boot
}

// parseStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted from its last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("malformed stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, errors.New("malformed stat: too few fields")
	}
	start, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("malformed stat: start time: %w", err)
	}
	return stat{state: f[0][0], startTime: start}, nil
}

func readStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

func zombie(pid int) bool {
	s, err := readStat(pid)
	return err == nil && s.state == 'Z'
}

func identity(pid int) (string, error) {
	s, err := readStat(pid)
	if err != nil {
		return "", err
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(boot)) + "/" + strconv.FormatUint(s.startTime, 10), nil
}

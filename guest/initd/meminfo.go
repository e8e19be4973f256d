package initd

import (
	"strconv"
	"strings"

	"github.com/berth-dev/berth/guest/agentapi"
)

// ParseMeminfo reads MemTotal and MemAvailable from /proc/meminfo.
func ParseMeminfo(s string) agentapi.Memory {
	var m agentapi.Memory
	var free, buffers, cached, sreclaimable uint64
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			m.TotalBytes = kb << 10
		case "MemAvailable:":
			m.AvailableBytes = kb << 10
		case "MemFree:":
			free = kb << 10
		case "Buffers:":
			buffers = kb << 10
		case "Cached:":
			cached = kb << 10
		case "SReclaimable:":
			sreclaimable = kb << 10
		}
	}
	if c := free + buffers + cached + sreclaimable; c < m.TotalBytes {
		m.UsedBytes = m.TotalBytes - c
	}
	return m
}

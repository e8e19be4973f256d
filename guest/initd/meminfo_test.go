package initd

import "testing"

func TestParseMeminfo(t *testing.T) {
	m := ParseMeminfo("MemTotal:        2020560 kB\nMemFree:         1707348 kB\nMemAvailable:    1741076 kB\nBuffers:            4 kB\nCached:           166900 kB\nSReclaimable:       3192 kB\n")
	if m.TotalBytes != 2020560*1024 || m.AvailableBytes != 1741076*1024 || m.UsedBytes != (2020560-1707348-4-166900-3192)*1024 {
		t.Fatalf("%+v", m)
	}
}

package initd

import "testing"

func TestParseMeminfo(t *testing.T) {
	m := ParseMeminfo("MemTotal:        2020560 kB\nMemFree:         1707348 kB\nMemAvailable:    1741076 kB\nBuffers:            4 kB\n")
	if m.TotalBytes != 2020560*1024 || m.AvailableBytes != 1741076*1024 {
		t.Fatalf("%+v", m)
	}
}

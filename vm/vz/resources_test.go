package vz

import (
	"strings"
	"testing"
)

func TestCheckResources(t *testing.T) {
	// Bounds as an M-series Mac reports them: 1..N CPUs, 4 MiB..N GiB.
	lim := vzLimits{minCPUs: 1, maxCPUs: 10, minMemory: 4 << 20, maxMemory: 64 << 30}
	for _, c := range []struct {
		cpus, mem int
		want      []string // nil: valid
	}{
		{4, 4096, nil},
		{1, 4, nil},
		{10, 64 << 10, nil},
		{0, 4096, []string{"cpus: 0", "1 to 10"}},
		{11, 4096, []string{"cpus: 11", "1 to 10"}},
		{-2, 4096, []string{"cpus: -2"}},
		{4, 3, []string{"memory: 3 MiB", "4 MiB to 65536 MiB"}},
		{4, 64<<10 + 1, []string{"memory: 65537 MiB"}},
		{4, 0, []string{"memory: 0 MiB"}},
		{64, 1 << 20, []string{"cpus: 64", "memory: 1048576 MiB"}}, // both named
	} {
		err := checkResources(c.cpus, c.mem, lim)
		if c.want == nil {
			if err != nil {
				t.Errorf("checkResources(%d, %d) = %v", c.cpus, c.mem, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("checkResources(%d, %d) = nil, want %q", c.cpus, c.mem, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("checkResources(%d, %d) = %q, does not say %q", c.cpus, c.mem, err, w)
			}
		}
	}
}

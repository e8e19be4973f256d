package wsl2

import (
	"slices"
	"strings"
)

// hcsComputeSystems is the registry key (under HKEY_LOCAL_MACHINE) where
// the Host Compute Service keeps one subkey per running compute system,
// named by its id: WSL's utility VM is one of them, next to any other VM
// or container HCS runs. No value there is known to mark WSL's for sure,
// so every id is a candidate and the link header tells ours (see
// DialLink). Rancher Desktop finds the WSL VM the same way.
const hcsComputeSystems = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\HostComputeService\VolatileStore\ComputeSystem`

// vmLister lists the ids of the compute systems running now, the
// candidates for the WSL VM: the registry on Windows, a test's fake
// elsewhere.
type vmLister interface {
	ListVMs() ([]string, error)
}

// candidateIDs are the subkey names that are GUIDs, in lower case without
// braces, sorted and without repeats; other names are skipped.
func candidateIDs(names []string) []string {
	var ids []string
	for _, n := range names {
		if m := guidRE.FindStringSubmatch(strings.TrimSpace(n)); m != nil {
			ids = append(ids, strings.ToLower(m[1]))
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

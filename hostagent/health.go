package hostagent

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/guest/agentapi"
	"github.com/berth-dev/berth/vm"
)

// sharesDownReason is the degraded reason for shares whose host server
// died: the engine runs on, but the guest reaches the files again only
// after a restart (a vhost-user-fs device cannot reconnect).
func sharesDownReason(down []vm.ShareDown) string {
	parts := make([]string, len(down))
	for i, d := range down {
		parts[i] = fmt.Sprintf("share %s: %s", d.HostPath, d.Reason)
	}
	return strings.Join(parts, "; ") + "; its files are unreachable in the machine until `berth restart`"
}

// diskFullWarning is the status warning for a data disk that is full, or
// all but: less than 1% of it, or 64 MiB, left (to root: what dockerd
// writes with); "" while there is room, or before the guest measured it.
func diskFullWarning(d agentapi.DataDisk) string {
	if d.SizeBytes == 0 {
		return ""
	}
	if d.FreeBytes >= min(d.SizeBytes/100, 64<<20) && d.FreeInodes > 0 {
		return ""
	}
	what := fmt.Sprintf("%s free of %s", sizeString(d.FreeBytes), sizeString(d.SizeBytes))
	if d.FreeInodes == 0 {
		what = "no inode free"
	}
	return "the data disk is full (" + what + "): remove what you do not need (`docker system prune`, `docker volume prune`), or grow it (`berth config set disk`, then `berth restart`)"
}

// sizeString is n bytes in binary units, as `docker system df` shows sizes.
func sizeString(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

package initd

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const envLimitHelper = "BERTH_TEST_FILE_LIMIT_HELPER"

// The init's own limit changes; its children's do not. Without privileges
// the test cannot raise a hard limit, so it moves its own soft limit: a
// child started afterwards must still see the soft limit this process
// started with, as dockerd must after the init raised its own.
func TestFileLimitIsTheInitsOwn(t *testing.T) {
	if os.Getenv(envLimitHelper) == "1" {
		fileLimitHelper()
		return
	}
	// A soft limit below the hard one, as the kernel gives PID 1: Go then
	// raises its own soft limit and gives children the original.
	cmd := exec.Command("sh", "-c", `ulimit -Sn 512 && exec "$0" -test.run='^TestFileLimitIsTheInitsOwn$'`, os.Args[0])
	cmd.Env = append(os.Environ(), envLimitHelper+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var own, child, started string
	for _, l := range strings.Split(string(out), "\n") {
		fmt.Sscanf(l, "own %s", &own)
		fmt.Sscanf(l, "child %s", &child)
		fmt.Sscanf(l, "started %s", &started)
	}
	if own == "" || child == "" || own == child || child != started {
		t.Fatalf("own limit %s, a child's %s, the limit at the start %s; want the child's to be the start's, not the own:\n%s", own, child, started, out)
	}
}

// fileLimitHelper prints its own soft limit after setting it, and a
// child's.
func fileLimitHelper() {
	fmt.Printf("started 512\n") // see the parent's ulimit
	var lim unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	if err := setOwnFileLimit(unix.Rlimit{Cur: lim.Max - 1, Max: lim.Max}); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	fmt.Printf("own %d\n", lim.Cur)
	out, err := exec.Command("sh", "-c", "ulimit -Sn").Output()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("child %s\n", strings.TrimSpace(string(out)))
	os.Exit(0)
}

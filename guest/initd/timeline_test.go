package initd

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/guest/agentapi"
)

func TestTimeline(t *testing.T) {
	var now time.Duration
	tl := &timeline{since: func() time.Duration { return now }}
	now = 1200 * time.Millisecond
	tl.mark(markKernel)
	now = 2 * time.Second
	tl.mark(markNetwork)
	// A step that ran beside the others and ended earlier is recorded
	// after them; the list is in the order the steps ended.
	now = 1500 * time.Millisecond
	tl.mark(markDataDisk)
	now = 9 * time.Second
	tl.mark(markDockerd)
	now = 30 * time.Second
	tl.mark(markDockerd) // a restart later does not move the boot's mark
	want := []agentapi.BootMark{{Name: markKernel, At: 1.2}, {Name: markDataDisk, At: 1.5}, {Name: markNetwork, At: 2}, {Name: markDockerd, At: 9}}
	if got := tl.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}
	got := tl.list()
	got[0].Name = "changed"
	if tl.list()[0].Name != markKernel {
		t.Error("list hands out the timeline's own slice")
	}
}

func TestTimelineConcurrent(t *testing.T) {
	tl := &timeline{since: func() time.Duration { return time.Second }}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { tl.mark(markDataDisk); _ = tl.list() })
	}
	wg.Wait()
	if n := len(tl.list()); n != 1 {
		t.Errorf("%d marks for one step marked 8 times", n)
	}
}

package main

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/hostagent/api"
)

// timelineLines is where the last start's time went, for `berth status`
// and `berth start --verbose`: the agent's stages with how long each took,
// then the guest's boot steps with when each ended.
func timelineLines(tl *api.Timeline) []string {
	if tl == nil || len(tl.Stages) == 0 {
		return nil
	}
	var total float64
	parts := make([]string, 0, len(tl.Stages))
	for _, s := range tl.Stages {
		total += s.Seconds
		parts = append(parts, fmt.Sprintf("%s %s", s.Name, seconds(s.Seconds)))
	}
	lines := []string{fmt.Sprintf("%s: %s", seconds(total), strings.Join(parts, ", "))}
	switch {
	case tl.Adopted:
		lines = append(lines, "the VM was running already (adopted): no boot")
	case tl.Restored:
		lines = append(lines, "the VM saved at the last stop was restored (fastStart): no boot")
	case len(tl.Guest) > 0:
		marks := make([]string, 0, len(tl.Guest))
		for _, m := range tl.Guest {
			marks = append(marks, fmt.Sprintf("%s %s", m.Name, seconds(m.At)))
		}
		lines = append(lines, "guest boot, each step ended at: "+strings.Join(marks, ", "))
	}
	return lines
}

// seconds shows a duration to a tenth of a second, and to a hundredth
// below one second, where most stages are.
func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.2fs", s)
	}
	return fmt.Sprintf("%.1fs", s)
}

package main

import (
	"bytes"
	"fmt"
	"strings"
)

// result is the verdict on one test binary's run.
type result struct {
	ok    bool
	why   string
	skips []string // "TestName: reason"
}

// judge decides from the exit status and the -test.v output. A binary must
// exit 0 and end with PASS; anything else (a crash, a binary Wine could not
// start, output cut short) is a failure.
func judge(out []byte, runErr error) result {
	r := result{skips: skips(out)}
	lines := strings.Split(strings.TrimSpace(string(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")))), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	switch {
	case runErr != nil:
		r.why = fmt.Sprintf("exit: %v", runErr)
	case last != "PASS":
		r.why = fmt.Sprintf("exit status 0 but the output does not end with PASS (last line %q)", last)
	default:
		r.ok = true
	}
	return r
}

// skips collects the skipped tests of -test.v output with their reason:
// the last line the test logged, which test2json-style output prints
// between "=== RUN   TestX" (or "=== NAME"/"=== CONT") and "--- SKIP: TestX".
func skips(out []byte) []string {
	lines := strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n")
	logged := map[string]string{}
	current := ""
	var s []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if rest, ok := cutAny(t, "=== RUN ", "=== NAME ", "=== CONT ", "=== PAUSE "); ok {
			current = strings.TrimSpace(rest)
			continue
		}
		if name, ok := strings.CutPrefix(t, "--- SKIP: "); ok {
			name, _, _ = strings.Cut(name, " ")
			reason, ok := logged[name]
			if !ok {
				reason = "(no reason given)"
			}
			s = append(s, name+": "+reason)
			continue
		}
		if strings.HasPrefix(l, "    ") && t != "" && current != "" {
			logged[current] = t
		}
	}
	return s
}

func cutAny(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest, true
		}
	}
	return "", false
}

package initd

import (
	"bytes"
	"fmt"
	"testing"
)

func TestLineLog(t *testing.T) {
	var sink bytes.Buffer
	l := NewLineLog("[d] ", 2, &sink)
	fmt.Fprint(l, "one\ntw")
	fmt.Fprint(l, "o\r\nthree\nfour")
	if got, want := sink.String(), "[d] one\n[d] two\n[d] three\n"; got != want {
		t.Fatalf("sink %q, want %q", got, want)
	}
	if got, want := l.Tail(), "two\nthree\nfour"; got != want {
		t.Fatalf("tail %q, want %q", got, want)
	}
}

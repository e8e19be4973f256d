package initd

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// LineLog is an io.Writer for a daemon's output: it prefixes each line,
// copies it to its sinks and keeps the last lines for error reports.
type LineLog struct {
	prefix string
	sinks  []io.Writer
	keep   int

	mu      sync.Mutex
	partial []byte
	tail    []string
}

// NewLineLog returns a LineLog keeping the last keep lines.
func NewLineLog(prefix string, keep int, sinks ...io.Writer) *LineLog {
	return &LineLog{prefix: prefix, keep: keep, sinks: sinks}
}

func (l *LineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 4096 { // a very long line: cut it
		l.line(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

func (l *LineLog) line(s string) {
	s = strings.TrimRight(s, "\r")
	for _, w := range l.sinks {
		_, _ = io.WriteString(w, l.prefix+s+"\n")
	}
	l.tail = append(l.tail, s)
	if len(l.tail) > l.keep {
		l.tail = l.tail[len(l.tail)-l.keep:]
	}
}

// Tail returns the last lines, joined.
func (l *LineLog) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tail
	if len(l.partial) > 0 {
		t = append(t[:len(t):len(t)], string(l.partial))
	}
	return strings.Join(t, "\n")
}

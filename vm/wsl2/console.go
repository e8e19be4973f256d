package wsl2

import (
	"bytes"
	"os"
	"strings"
	"sync"
)

// console takes the guest init's output (and wsl.exe's own messages) into
// the console log, watches for the boot marker and keeps the last bytes
// for an error.
type console struct {
	mu       sync.Mutex
	log      *os.File
	marker   string
	seen     chan struct{}
	seenOnce sync.Once
	line     []byte // the line being written
	tail     []byte // the last tailBytes bytes
}

const (
	tailBytes = 4096
	tailLines = 20
	maxLine   = 64 << 10
)

func newConsole(log *os.File, marker string) *console {
	return &console{log: log, marker: marker, seen: make(chan struct{})}
}

// Write never fails: a log that cannot be written must not stop the guest.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log != nil {
		_, _ = c.log.Write(p)
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > tailBytes {
		c.tail = append([]byte(nil), c.tail[len(c.tail)-tailBytes:]...)
	}
	c.line = append(c.line, p...)
	for {
		i := bytes.IndexByte(c.line, '\n')
		if i < 0 {
			break
		}
		c.check(c.line[:i])
		c.line = c.line[i+1:]
	}
	if len(c.line) > maxLine {
		c.check(c.line)
		c.line = nil
	}
	return len(p), nil
}

func (c *console) check(line []byte) {
	if bytes.Contains(line, []byte(c.marker)) {
		c.seenOnce.Do(func() { close(c.seen) })
	}
}

// last is the last lines written, decoded (wsl.exe's own messages may be
// UTF-16LE).
func (c *console) last() string {
	c.mu.Lock()
	text := Decode(c.tail)
	c.mu.Unlock()
	l := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(l) > tailLines {
		l = l[len(l)-tailLines:]
	}
	out := strings.Join(l, "\n")
	if out == "" {
		return "(none)"
	}
	return out
}

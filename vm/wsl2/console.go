package wsl2

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"time"
)

// console takes the guest init's output (and wsl.exe's own messages),
// into the console log when it has one, watches for the boot marker and
// keeps the last bytes for an error.
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

// followPoll is how often followFile looks for new output.
const followPoll = 50 * time.Millisecond

// followFile feeds what is written to the file at path into c, from its
// start, until c saw its marker, ctx ends, or exited is closed (then what
// the file holds by then is read first). The file is the guest init's
// console log, which its wsl.exe writes itself.
func followFile(ctx context.Context, path string, c *console, exited <-chan struct{}) {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	readAll := func() {
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				return
			}
		}
		for {
			n, err := f.Read(buf)
			if n > 0 {
				_, _ = c.Write(buf[:n])
			}
			if err != nil || n == 0 {
				return
			}
		}
	}
	for {
		readAll()
		select {
		case <-c.seen:
			return
		case <-exited:
			readAll()
			return
		case <-ctx.Done():
			return
		case <-time.After(followPoll):
		}
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

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressWriter turns the lines of a long operation into a spinner with
// the current step on a terminal; elsewhere lines pass through as they are.
type progressWriter struct {
	out  io.Writer
	mu   sync.Mutex
	buf  bytes.Buffer
	bar  *progressbar.ProgressBar
	step string
	t0   time.Time
}

// newProgress returns w itself unless w is a terminal.
func newProgress(w io.Writer) (io.Writer, func()) {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return w, func() {}
	}
	p := &progressWriter{out: w}
	return p, p.finish
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadString('\n')
		if err != nil {
			p.buf.WriteString(line)
			return len(b), nil
		}
		p.next(strings.TrimRight(line, "\n"))
	}
}

// next ends the current step with its time and spins on the new one.
// Indented lines are details of the current step: printed, not spun.
func (p *progressWriter) next(line string) {
	if strings.HasPrefix(line, " ") {
		p.clear()
		fmt.Fprintln(p.out, line)
		p.spin()
		return
	}
	p.done()
	p.step, p.t0 = line, time.Now()
	p.spin()
}

func (p *progressWriter) spin() {
	if p.step == "" {
		return
	}
	p.bar = progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(p.out),
		progressbar.OptionSetDescription(p.step),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetSpinnerChangeInterval(100*time.Millisecond),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *progressWriter) clear() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

func (p *progressWriter) done() {
	p.clear()
	if p.step != "" {
		fmt.Fprintf(p.out, "%s (%.1fs)\n", p.step, time.Since(p.t0).Seconds())
		p.step = ""
	}
}

func (p *progressWriter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.buf.Len() > 0 {
		p.next(p.buf.String())
		p.buf.Reset()
	}
	p.clear()
	if p.step != "" {
		fmt.Fprintln(p.out, p.step)
		p.step = ""
	}
}

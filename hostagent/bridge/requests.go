package bridge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strconv"
	"strings"
)

// The client→engine direction is read as HTTP requests so that container
// create bodies can be rewritten (Windows bind sources) or refused (a
// source no share holds). Everything else is forwarded byte for byte:
// the request is parsed from a copy of its header and its body is copied
// with its own framing. Once a request hijacks the connection (attach,
// exec start, an Upgrade) the rest of that direction is a plain copy.
// Responses are never parsed.

const (
	maxHeaderBytes = 1 << 20  // the engine's own limit
	maxCreateBody  = 16 << 20 // a create body is a few KiB
)

var (
	createPath = regexp.MustCompile(`^(/v[0-9.]+)?/containers/create$`)
	hijackPath = regexp.MustCompile(`^(/v[0-9.]+)?/(containers/[^/]+/attach|exec/[^/]+/start|session|grpc)$`)
)

// errReplied means the bridge answered the request itself and the
// connection must end.
var errReplied = errors.New("request answered by the bridge")

type forwarder struct {
	paths *Paths // nil: nothing is rewritten
	log   *slog.Logger
	// inflight, when set, is told of each request before it is sent, and
	// of what passes without being read as requests.
	inflight *inflight
}

// sending wakes the VM for req before it is sent (see Waker).
func (f *forwarder) sending(req *http.Request) error {
	if f.inflight == nil {
		return nil
	}
	return f.inflight.request(req)
}

// opaque forwards what was read and the rest unread, holding the VM awake
// until the connection ends: its requests cannot be told apart.
func (f *forwarder) opaque(dst io.Writer, read []byte, src io.Reader) error {
	if f.inflight != nil {
		if err := f.inflight.waker.Wake(f.inflight.ctx); err != nil {
			return err
		}
		f.inflight.hold()
	}
	return rawCopy(dst, read, src)
}

// run forwards requests from src to dst until src ends; reply reaches the
// client. It returns nil at a clean end of src.
func (f *forwarder) run(dst io.Writer, src *bufio.Reader, reply io.Writer) error {
	for {
		raw, err := readHeader(src)
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return f.opaque(dst, raw, src)
		}
		if isEmptyLine(raw) {
			if _, err := dst.Write(raw); err != nil {
				return err
			}
			continue
		}
		req, perr := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if perr != nil {
			// Not HTTP we understand: the engine says what is wrong.
			return f.opaque(dst, raw, src)
		}
		fr, ok := framingOf(req)
		if !ok {
			return f.opaque(dst, raw, src)
		}
		if err := f.sending(req); err != nil {
			f.log.Warn("docker bridge: could not resume the VM", "err", err)
			return replyError(reply, http.StatusServiceUnavailable, "Berth could not resume the machine's VM: "+err.Error())
		}
		if f.paths != nil && req.Method == http.MethodPost && createPath.MatchString(req.URL.Path) && req.Header.Get("Expect") == "" {
			if err := f.create(dst, src, reply, raw, fr); err != nil {
				return err
			}
			continue
		}
		if _, err := dst.Write(raw); err != nil {
			return err
		}
		if err := copyBody(dst, src, fr); err != nil {
			return err
		}
		if isHijack(req) {
			_, err := io.Copy(dst, src)
			return err
		}
	}
}

// create forwards a container create request, with its bind sources
// rewritten when they need to be.
func (f *forwarder) create(dst io.Writer, src *bufio.Reader, reply io.Writer, header []byte, fr framing) error {
	var body bytes.Buffer
	if err := copyBody(&limitWriter{w: &body, n: maxCreateBody}, src, fr); err != nil {
		if errors.Is(err, errTooLarge) {
			return replyError(reply, http.StatusRequestEntityTooLarge, "container create request body larger than 16 MiB")
		}
		return err
	}
	decoded := body.Bytes()
	if fr.chunked {
		d, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(decoded)))
		if err != nil {
			return rawCopy(dst, append(header, decoded...), src)
		}
		decoded = d
	}
	out, changed, err := RewriteCreate(decoded, f.paths)
	if err != nil {
		f.log.Info("docker bridge: refused a container create", "reason", err.Error())
		return replyError(reply, http.StatusBadRequest, err.Error())
	}
	if !changed {
		if _, err := dst.Write(header); err != nil {
			return err
		}
		_, err := dst.Write(body.Bytes())
		return err
	}
	f.log.Debug("docker bridge: rewrote bind sources of a container create")
	if _, err := dst.Write(withLength(header, len(out))); err != nil {
		return err
	}
	_, err = dst.Write(out)
	return err
}

// replyError answers like the engine does, then ends the connection.
func replyError(w io.Writer, code int, msg string) error {
	b, _ := json.Marshal(map[string]string{"message": msg})
	b = append(b, '\n')
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(b), b)
	if err != nil {
		return err
	}
	return errReplied
}

func isHijack(req *http.Request) bool {
	if req.Header.Get("Upgrade") != "" {
		return true
	}
	for _, v := range req.Header.Values("Connection") {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return hijackPath.MatchString(req.URL.Path)
}

// readHeader reads up to and including the empty line that ends a
// request's header. Empty lines before a request line belong to no
// request and are returned alone.
func readHeader(r *bufio.Reader) ([]byte, error) {
	var raw []byte
	lineStart := 0
	for {
		part, err := r.ReadSlice('\n')
		raw = append(raw, part...)
		if len(raw) > maxHeaderBytes {
			return raw, errTooLarge
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return raw, err
		}
		if isEmptyLine(raw[lineStart:]) {
			return raw, nil
		}
		lineStart = len(raw)
	}
}

func isEmptyLine(l []byte) bool { return string(l) == "\r\n" || string(l) == "\n" }

// framing says how a request's body is delimited.
type framing struct {
	chunked bool
	length  int64
}

func framingOf(req *http.Request) (framing, bool) {
	switch {
	case len(req.TransferEncoding) == 1 && req.TransferEncoding[0] == "chunked":
		return framing{chunked: true}, true
	case len(req.TransferEncoding) > 0:
		return framing{}, false
	case req.ContentLength > 0:
		return framing{length: req.ContentLength}, true
	}
	return framing{}, true
}

// copyBody copies a body with its framing, byte for byte.
func copyBody(dst io.Writer, src *bufio.Reader, fr framing) error {
	if !fr.chunked {
		n, err := io.CopyN(dst, src, fr.length)
		if errors.Is(err, io.EOF) && n < fr.length {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	for {
		line, err := readLine(src)
		if _, werr := dst.Write(line); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		size, err := chunkSize(line)
		if err != nil {
			return err
		}
		if size == 0 {
			return copyTrailer(dst, src)
		}
		if _, err := io.CopyN(dst, src, size); err != nil {
			return err
		}
		crlf, err := readLine(src)
		if _, werr := dst.Write(crlf); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
	}
}

func copyTrailer(dst io.Writer, src *bufio.Reader) error {
	for {
		line, err := readLine(src)
		if _, werr := dst.Write(line); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		if isEmptyLine(line) {
			return nil
		}
	}
}

// readLine reads one line of a chunked body (a size line, a CRLF or a
// trailer), refusing one longer than any real chunk line.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > 4096 {
			return line, errors.New("chunk line too long")
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

func chunkSize(line []byte) (int64, error) {
	s := strings.TrimRight(string(line), "\r\n")
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 16, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad chunk size %q", s)
	}
	return n, nil
}

// rawCopy forwards what was read and then everything else unchanged.
func rawCopy(dst io.Writer, read []byte, src io.Reader) error {
	if _, err := dst.Write(read); err != nil {
		return err
	}
	_, err := io.Copy(dst, src)
	return err
}

// withLength replaces a header's framing with a Content-Length.
func withLength(header []byte, n int) []byte {
	lines := strings.SplitAfter(string(header), "\n")
	var b strings.Builder
	for i, l := range lines {
		if i > 0 && (isEmptyLine([]byte(l)) || l == "") {
			continue
		}
		if i > 0 {
			name, _, _ := strings.Cut(l, ":")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "content-length", "transfer-encoding", "trailer":
				continue
			}
		}
		b.WriteString(l)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", n)
	return []byte(b.String())
}

var errTooLarge = errors.New("too large")

// limitWriter fails once more than n bytes were written.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

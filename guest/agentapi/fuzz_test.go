package agentapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// frames is a stream of exec frames as `berth shell` sends them.
func frames(parts ...[]byte) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(parts); i += 2 {
		_ = WriteFrame(&b, parts[i][0], parts[i+1])
	}
	return b.Bytes()
}

// FuzzExecFrames: any byte stream reads as whole frames, each of which
// writes back to exactly the bytes it came from, and then ends with a
// clear error: EOF at a frame boundary, a cut frame, or a length beyond
// the limit (before anything of that size is allocated).
func FuzzExecFrames(f *testing.F) {
	resize := []byte{0, 24, 0, 80}
	f.Add(frames([]byte{FrameResize}, resize, []byte{FrameStdin}, []byte("ls -l\r"), []byte{FrameStdinEOF}, nil))
	f.Add(frames([]byte{FrameOutput}, []byte("total 0\r\n"), []byte{FrameExit}, ExitFrame(130)))
	f.Add([]byte{FrameStdin, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{FrameStdin, 0, 0, 0, 9, 'c', 'u', 't'})
	f.Add([]byte{9, 0, 0, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var again bytes.Buffer
		for {
			typ, p, err := ReadFrame(r)
			if err != nil {
				consumed := len(in) - r.Len()
				switch {
				case errors.Is(err, io.EOF):
					if consumed != len(in) || again.Len() != len(in) {
						t.Fatalf("EOF with %d of %d bytes read as frames", again.Len(), len(in))
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
				case strings.Contains(err.Error(), "too large"):
					if n := binary.BigEndian.Uint32(in[again.Len()+1:]); n <= maxFrame {
						t.Fatalf("a frame of %d bytes refused", n)
					}
				default:
					t.Fatalf("error %v", err)
				}
				if !bytes.HasPrefix(in, again.Bytes()) {
					t.Fatal("the frames read do not write back to the stream")
				}
				return
			}
			if len(p) > maxFrame {
				t.Fatalf("a frame of %d bytes", len(p))
			}
			if err := WriteFrame(&again, typ, p); err != nil {
				t.Fatal(err)
			}
			if typ == FrameExit && len(p) == 4 && !bytes.Equal(ExitFrame(ExitCode(p)), p) {
				t.Fatalf("exit frame %x reads as %d", p, ExitCode(p))
			}
		}
	})
}

// FuzzDatagrams: a UDP connect stream reads as whole datagrams, each
// writing back to its bytes; a length the buffer cannot hold is refused.
func FuzzDatagrams(f *testing.F) {
	var seed bytes.Buffer
	_ = WriteDatagram(&seed, []byte("dns query"))
	_ = WriteDatagram(&seed, nil)
	f.Add(seed.Bytes(), 512)
	f.Add([]byte{0xff, 0xff, 1, 2}, maxDatagram)
	f.Add([]byte{0, 5, 'a'}, 16)
	f.Fuzz(func(t *testing.T, in []byte, size int) {
		if size < 0 || size > maxDatagram {
			return
		}
		buf := make([]byte, size)
		r := bytes.NewReader(in)
		var again bytes.Buffer
		for {
			n, err := ReadDatagram(r, buf)
			if err != nil {
				if errors.Is(err, io.EOF) && again.Len() != len(in) {
					t.Fatalf("EOF with %d of %d bytes read", again.Len(), len(in))
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "does not fit") {
					t.Fatalf("error %v", err)
				}
				if !bytes.HasPrefix(in, again.Bytes()) {
					t.Fatal("the datagrams read do not write back to the stream")
				}
				return
			}
			if err := WriteDatagram(&again, buf[:n]); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// apiBackend is a guest with every ability, recording what it was asked.
type apiBackend struct {
	fakeBackend
	mu     sync.Mutex
	clocks []time.Time
}

func (b *apiBackend) Listeners(context.Context) ([]Listener, error) {
	return []Listener{{Proto: "tcp", IP: "0.0.0.0", Port: 80, Process: "nginx"}}, nil
}

func (b *apiBackend) SetClock(t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clocks = append(b.clocks, t)
	return nil
}

func (b *apiBackend) Log(name string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if name != "dockerd" && name != "containerd" {
		return nil, fmt.Errorf("log %q: %w", name, os.ErrNotExist)
	}
	return io.NopCloser(strings.NewReader(name + " log\n")), nil
}

func (b *apiBackend) Exec(context.Context, ExecRequest, io.Reader, io.Writer) (int, error) {
	return 0, nil
}

// FuzzGuestAPI sends any request to the guest agent's handler: each is
// answered with a code the API documents, a refusal carries a JSON
// message, and nothing reaches the guest unless the request was valid:
// the clock is only set to a real time, and only POST /v1/shutdown shuts the guest down. (Requests that
// switch protocols are left to the tests with a real connection.)
func FuzzGuestAPI(f *testing.F) {
	for _, s := range []struct{ method, target, body string }{
		{"GET", PathHealth, ""},
		{"POST", PathShutdown, ""},
		{"GET", PathListeners, ""},
		{"POST", PathTime, `{"time":"2026-12-06T22:00:00.123456789Z"}`},
		{"POST", PathTime, `{"time":"0001-01-01T00:00:00Z"}`},
		{"POST", PathTime, `{"time":"yesterday"}`},
		{"GET", PathLogs + "dockerd", ""},
		{"GET", PathLogs + "..%2f..%2fetc%2fshadow", ""},
		{"POST", PathExec, `{"cmd":`},
		{"POST", PathConnect, `{"address":"10.0.0.1:22"}`},
		{"POST", PathConnect, `{"network":"unix","address":"/run/docker.sock"}`},
		{"POST", PathConnect, `{"address":"[::1]:0"}`},
		{"GET", "/v1/shutdown", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		req, err := http.NewRequest(method, "http://guest"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		if req.Method == http.MethodPost && (req.URL.Path == PathExec || req.URL.Path == PathConnect) && switches(req.URL.Path, body) {
			return
		}
		b := &apiBackend{}
		w := httptest.NewRecorder()
		NewHandler(b).ServeHTTP(w, req)
		switch code := w.Code; {
		case code >= 500:
			t.Fatalf("%s %q %q: %d %s", method, target, body, code, w.Body)
		case code >= 400 && w.Header().Get("Content-Type") == "application/json":
			var e ErrorResponse
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Message == "" {
				t.Fatalf("%s %q %q: %d without a message: %q", method, target, body, code, w.Body)
			}
		case code >= 400 && code != http.StatusNotFound && code != http.StatusMethodNotAllowed:
			t.Fatalf("%s %q %q: %d not in JSON: %q", method, target, body, code, w.Body)
		}
		for _, c := range b.clocks {
			if c.IsZero() {
				t.Fatalf("%s %q %q set the clock to the zero time", method, target, body)
			}
		}
		if len(b.shutdowns) > 0 && (req.Method != http.MethodPost || req.URL.Path != PathShutdown) {
			t.Fatalf("%s %q shut the guest down", method, target)
		}
	})
}

// switches tells whether a request to an upgrading route is valid, so the
// handler would take the connection over.
func switches(path string, body []byte) bool {
	if path == PathExec {
		return json.NewDecoder(bytes.NewReader(body)).Decode(&ExecRequest{}) == nil
	}
	var req ConnectRequest
	if json.NewDecoder(bytes.NewReader(body)).Decode(&req) != nil {
		return false
	}
	return (req.Network == "" || req.Network == "tcp" || req.Network == "udp") && checkConnectAddress(req.Address) == nil
}

package hostagent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/portfwd"
)

// recOpener opens forwards on paper: it records where each would listen.
type recOpener struct {
	mu   sync.Mutex
	open map[string]portfwd.Forward
}

func (o *recOpener) Open(f portfwd.Forward) (io.Closer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.open[f.Key()] = f
	return closerFunc(func() error {
		o.mu.Lock()
		defer o.mu.Unlock()
		delete(o.open, f.Key())
		return nil
	}), nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// apiAgent is testAgent with port forwarding, whose forwards open on
// paper, and one manual forward saved.
func apiAgent(t *testing.T) (*Agent, *ports, *recOpener) {
	a := testAgent()
	op := &recOpener{open: map[string]portfwd.Forward{}}
	p := &ports{
		log: slog.New(slog.DiscardHandler), opts: portfwd.Options{LoopbackByDefault: true},
		rec:        portfwd.NewReconciler(op, nil),
		manualPath: filepath.Join(t.TempDir(), "forwards.json"),
	}
	sp, _ := portfwd.ParseSpec("8080:80")
	if _, err := p.addManual(sp); err != nil {
		t.Fatal(err)
	}
	a.ports = p
	return a, p, op
}

// FuzzControlAPI sends any request to the control API of an agent whose
// engine runs (forwards open on paper) and checks what a client and the
// machine directory see: an answer the API documents (never a server
// error), a refusal that is JSON with a message, a forwards file that
// always loads and equals the forwards the agent keeps, and no forward
// listening beyond the loopback unless its spec named an address.
func FuzzControlAPI(f *testing.F) {
	for _, s := range []struct{ method, target, body string }{
		{"GET", "/v1/status", ""},
		{"GET", "/v1/events", ""},
		{"POST", "/v1/stop", ""},
		{"GET", "/v1/forwards", ""},
		{"POST", "/v1/forwards", `{"spec":"8081"}`},
		{"POST", "/v1/forwards", `{"spec":"0.0.0.0:9000:90/udp"}`},
		{"POST", "/v1/forwards", `{"spec":"[::1]:443"}`},
		{"POST", "/v1/forwards", `{"spec":"70000"}`},
		{"POST", "/v1/forwards", `{"spec":`},
		{"POST", "/v1/forwards", `{"spec":"8080:80"}{"spec":"1"}`},
		{"DELETE", "/v1/forwards?spec=8080:80", ""},
		{"DELETE", "/v1/forwards?spec=127.0.0.1:8080:80/tcp", ""},
		{"DELETE", "/v1/forwards?spec=9", ""},
		{"DELETE", "/v1/forwards?spec=%zz", ""},
		{"POST", "/v1/forwards/paused", `{"proto":"tcp","hostPort":8080}`},
		{"POST", "/v1/forwards/paused", `{"proto":"sctp","hostPort":-1}`},
		{"DELETE", "/v1/forwards/paused?proto=tcp&port=8080", ""},
		{"POST", "/v1/exec", `{"cmd":["sh"],"tty":true,"rows":24,"cols":80}`},
		{"GET", "/v1/logs/dockerd", ""},
		{"GET", "/v1/logs/..%2f..%2fetc%2fpasswd", ""},
		{"GET", "/v1/debug/engine-rtt?n=3&path=/_ping", ""},
		{"GET", "/v1/debug/engine-rtt?n=99999999999999999999", ""},
		{"PUT", "/v1/status", ""},
		{"GET", "/v1/../v1/status", ""},
	} {
		f.Add(s.method, s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		a, p, op := apiAgent(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, "http://agent"+target, bytes.NewReader(body))
		if err != nil {
			return // no client can send it
		}
		w := httptest.NewRecorder()
		a.handler().ServeHTTP(w, req)
		code := w.Code
		switch {
		case code >= 500:
			t.Fatalf("%s %q %q: %d %s", method, target, body, code, w.Body)
		case code >= 400 && code != http.StatusNotFound && code != http.StatusMethodNotAllowed || code == http.StatusNotFound && w.Header().Get("Content-Type") == "application/json":
			var e struct{ Message string }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Message == "" {
				t.Fatalf("%s %q %q: %d without a JSON message: %q", method, target, body, code, w.Body)
			}
		}
		saved, err := portfwd.LoadManual(p.manualPath)
		if err != nil {
			t.Fatalf("%s %q %q left a forwards file that does not load: %v", method, target, body, err)
		}
		p.mu.Lock()
		kept := slices.Clone(p.manual)
		p.mu.Unlock()
		if !sameSpecs(saved, kept) {
			t.Fatalf("%s %q %q: the file holds %v, the agent %v", method, target, body, saved, kept)
		}
		op.mu.Lock()
		defer op.mu.Unlock()
		for _, fw := range op.open {
			named := slices.ContainsFunc(kept, func(s portfwd.Spec) bool { return s.HostIP.IsValid() && s.HostPort == fw.HostPort })
			if ip, err := netip.ParseAddr(fw.HostIP); !named && (err != nil || !ip.IsLoopback()) {
				t.Fatalf("%s %q %q: a forward listens on %s, which no spec asked for", method, target, body, fw.HostAddr())
			}
		}
	})
}

func sameSpecs(a, b []portfwd.Spec) bool {
	key := func(s []portfwd.Spec) []string {
		var out []string
		for _, sp := range s {
			out = append(out, sp.String())
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

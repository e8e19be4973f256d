package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// The page is served to the owning user only, although anything on the
// host can reach a loopback port. A random token, new at every start, is
// handed out through the agent's owner-only control socket in the page's
// address; the first load trades it for a cookie that scripts cannot read
// (HttpOnly) and no other site's request carries (SameSite=Strict). Every
// request then needs that cookie, a Host header naming the loopback port
// (a name that other sites can point at 127.0.0.1 — DNS rebinding — is
// refused), and, when a browser says where the request comes from (Origin,
// Sec-Fetch-Site), the page itself. Anything else gets 403 and nothing more.

// verdict is what the guard decided for one request.
type verdict int

const (
	deny verdict = iota
	allow
	// login: the address's token, good, on a first load: set the cookie
	// and send the browser to the page without the token.
	login
)

// request is what the guard reads of an HTTP request.
type request struct {
	Method       string
	Path         string
	Host         string
	Origin       string
	SecFetchSite string
	// Cookie is the value of the dashboard's cookie; QueryToken the
	// address's "token" parameter, Query whether it has one at all.
	Cookie     string
	QueryToken string
	Query      bool
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand's documented contract)
	return hex.EncodeToString(b)
}

// cookieName carries the port: browsers keep cookies per host, not per
// port, and two machines' dashboards must not overwrite each other's.
func cookieName(port int) string { return "berth_dashboard_" + strconv.Itoa(port) }

// decide is the whole policy, a pure function of the request, the port the
// page listens on and this start's token.
func decide(r request, port int, token string) verdict {
	if token == "" || !loopbackHost(r.Host, port) {
		return deny
	}
	if r.Origin != "" && !pageOrigin(r.Origin, port) {
		return deny
	}
	switch r.SecFetchSite {
	case "", "same-origin", "none": // none: typed, bookmarked or opened by a program
	default:
		return deny
	}
	unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
	// A browser sends Origin with every request that changes something;
	// its absence there means a client that is not the page.
	if unsafe && r.Origin == "" {
		return deny
	}
	if r.Query {
		if !equal(r.QueryToken, token) {
			return deny
		}
		if r.Method == http.MethodGet && r.Path == "/" {
			return login
		}
	}
	if !equal(r.Cookie, token) {
		return deny
	}
	return allow
}

func equal(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// loopbackHost: the Host header names the page's own address.
func loopbackHost(host string, port int) bool {
	p := ":" + strconv.Itoa(port)
	h, ok := strings.CutSuffix(strings.ToLower(host), p)
	return ok && (h == "127.0.0.1" || h == "localhost")
}

// pageOrigin: the request comes from the page (either of its names).
func pageOrigin(origin string, port int) bool {
	h, ok := strings.CutPrefix(strings.ToLower(origin), "http://")
	return ok && loopbackHost(h, port)
}

// readRequest takes what decide needs from r.
func readRequest(r *http.Request, port int) request {
	q := r.URL.Query()
	_, hasToken := q["token"]
	out := request{
		Method: r.Method, Path: r.URL.Path, Host: r.Host,
		Origin: r.Header.Get("Origin"), SecFetchSite: r.Header.Get("Sec-Fetch-Site"),
		QueryToken: q.Get("token"), Query: hasToken,
	}
	if c, err := r.Cookie(cookieName(port)); err == nil {
		out.Cookie = c.Value
	}
	return out
}

// guard wraps the page's handler with the policy.
func guard(port int, token string, next http.Handler) http.Handler {
	// Inline styles: the terminal (xterm.js) sets its own; scripts come
	// from the page's files only.
	csp := "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
		"connect-src 'self' ws://127.0.0.1:" + strconv.Itoa(port) + " ws://localhost:" + strconv.Itoa(port) +
		"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		switch decide(readRequest(r, port), port, token) {
		case login:
			http.SetCookie(w, &http.Cookie{
				Name: cookieName(port), Value: token, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode,
			})
			http.Redirect(w, r, "/", http.StatusSeeOther)
		case allow:
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
			next.ServeHTTP(w, r)
		default:
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("forbidden\n"))
		}
	})
}

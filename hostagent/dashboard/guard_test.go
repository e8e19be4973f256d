package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	tPort  = 8765
	tToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestDecide(t *testing.T) {
	good := request{Method: "GET", Path: "/api/containers", Host: "127.0.0.1:8765", Cookie: tToken}
	with := func(f func(*request)) request { r := good; f(&r); return r }
	for _, tc := range []struct {
		name string
		r    request
		want verdict
	}{
		{"cookie", good, allow},
		{"localhost", with(func(r *request) { r.Host = "LocalHost:8765" }), allow},
		{"same origin", with(func(r *request) { r.Origin, r.SecFetchSite = "http://127.0.0.1:8765", "same-origin" }), allow},
		{"typed address", with(func(r *request) { r.SecFetchSite = "none" }), allow},
		{"post from the page", with(func(r *request) { r.Method, r.Origin = "POST", "http://localhost:8765" }), allow},
		{"first load", request{Method: "GET", Path: "/", Host: "127.0.0.1:8765", Query: true, QueryToken: tToken, SecFetchSite: "none"}, login},
		{"first load with an old cookie", with(func(r *request) { r.Path, r.Query, r.QueryToken, r.Cookie = "/", true, tToken, "old" }), login},

		{"no cookie", with(func(r *request) { r.Cookie = "" }), deny},
		{"wrong cookie", with(func(r *request) { r.Cookie = strings.Repeat("0", len(tToken)) }), deny},
		{"cookie, a prefix of the token", with(func(r *request) { r.Cookie = tToken[:10] }), deny},
		{"wrong token in the address", request{Method: "GET", Path: "/", Host: "127.0.0.1:8765", Query: true, QueryToken: "x"}, deny},
		{"empty token in the address", request{Method: "GET", Path: "/", Host: "127.0.0.1:8765", Query: true}, deny},
		{"wrong token in the address, good cookie", with(func(r *request) { r.Query, r.QueryToken = true, "x" }), deny},
		{"token on an API path, no cookie", request{Method: "GET", Path: "/api/containers", Host: "127.0.0.1:8765", Query: true, QueryToken: tToken}, deny},
		{"token on a POST", request{Method: "POST", Path: "/", Host: "127.0.0.1:8765", Origin: "http://127.0.0.1:8765", Query: true, QueryToken: tToken}, deny},
		// DNS rebinding: another name that resolves to 127.0.0.1.
		{"rebinding host", with(func(r *request) { r.Host = "evil.example:8765" }), deny},
		{"host without port", with(func(r *request) { r.Host = "127.0.0.1" }), deny},
		{"host, other port", with(func(r *request) { r.Host = "127.0.0.1:8766" }), deny},
		{"host with a suffix", with(func(r *request) { r.Host = "127.0.0.1.evil.example:8765" }), deny},
		{"ipv6 host", with(func(r *request) { r.Host = "[::1]:8765" }), deny},
		{"empty host", with(func(r *request) { r.Host = "" }), deny},
		// Cross-site requests from other pages.
		{"other origin", with(func(r *request) { r.Origin = "http://evil.example" }), deny},
		{"other port's origin", with(func(r *request) { r.Origin = "http://127.0.0.1:9999" }), deny},
		{"https origin", with(func(r *request) { r.Origin = "https://127.0.0.1:8765" }), deny},
		{"null origin", with(func(r *request) { r.Origin = "null" }), deny},
		{"cross-site fetch", with(func(r *request) { r.SecFetchSite = "cross-site" }), deny},
		{"same-site fetch (another port)", with(func(r *request) { r.SecFetchSite = "same-site" }), deny},
		{"post without origin", with(func(r *request) { r.Method = "POST" }), deny},
		{"delete without origin", with(func(r *request) { r.Method = "DELETE" }), deny},
		{"no token configured", request{Method: "GET", Path: "/", Host: "127.0.0.1:8765"}, deny},
	} {
		token := tToken
		if tc.name == "no token configured" {
			token = ""
		}
		if got := decide(tc.r, tPort, token); got != tc.want {
			t.Errorf("%s: %v, want %v (%+v)", tc.name, got, tc.want, tc.r)
		}
	}
}

// The guard around a handler: the first load sets the cookie (HttpOnly,
// SameSite=Strict, for this port) and sends the browser on without the
// token; a refused request gets 403 and nothing of the page.
func TestGuard(t *testing.T) {
	h := guard(tPort, tToken, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "the page")
	}))
	do := func(method, target, host string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Host = host
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := do("GET", "/?token="+tToken, "127.0.0.1:8765", map[string]string{"Sec-Fetch-Site": "none"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("first load: %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != "berth_dashboard_8765" || c[0].Value != tToken || !c[0].HttpOnly ||
		c[0].SameSite != http.SameSiteStrictMode || c[0].Path != "/" {
		t.Fatalf("cookie %+v", c)
	}
	if strings.Contains(w.Body.String(), "the page") {
		t.Error("the first load served the page with the token still in the address")
	}
	cookie := map[string]string{"Cookie": "berth_dashboard_8765=" + tToken}
	w = do("GET", "/", "127.0.0.1:8765", cookie)
	if w.Code != http.StatusOK || w.Body.String() != "the page" {
		t.Fatalf("with the cookie: %d %q", w.Code, w.Body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for name, hdr := range map[string]map[string]string{
		"no cookie":           nil,
		"another port's":      {"Cookie": "berth_dashboard_8766=" + tToken},
		"cross-site":          {"Cookie": cookie["Cookie"], "Sec-Fetch-Site": "cross-site"},
		"other origin":        {"Cookie": cookie["Cookie"], "Origin": "http://evil.example"},
		"wrong token, cookie": {"Cookie": "berth_dashboard_8765=nope"},
	} {
		w := do("GET", "/api/containers", "127.0.0.1:8765", hdr)
		if w.Code != http.StatusForbidden || w.Body.String() != "forbidden\n" || len(w.Result().Cookies()) != 0 {
			t.Errorf("%s: %d %q, cookies %v; want 403 and nothing else", name, w.Code, w.Body, w.Result().Cookies())
		}
	}
	if w := do("GET", "/", "evil.example:8765", cookie); w.Code != http.StatusForbidden {
		t.Errorf("rebinding host: %d", w.Code)
	}
	if w := do("GET", "/?token=wrong", "127.0.0.1:8765", nil); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Errorf("wrong token: %d, cookies %v", w.Code, w.Result().Cookies())
	}
}

func TestNewToken(t *testing.T) {
	a, b := newToken(), newToken()
	if len(a) != 64 || a == b {
		t.Errorf("tokens %q %q: want 64 hex digits, new each time", a, b)
	}
}

// FuzzDecide: whatever the request, nothing is let in without the token
// (as cookie, or in the address on a first load), from a host other than
// the page's, from another origin, or cross-site; and changes need the
// page's Origin.
func FuzzDecide(f *testing.F) {
	f.Add("GET", "/", "127.0.0.1:8765", "", "none", tToken, "", false)
	f.Add("GET", "/", "127.0.0.1:8765", "", "", "", tToken, true)
	f.Add("POST", "/api/containers/x/stop", "localhost:8765", "http://localhost:8765", "same-origin", tToken, "", false)
	f.Add("GET", "/api/events", "evil.example:8765", "http://evil.example", "cross-site", tToken, "", false)
	f.Add("DELETE", "/api/containers/x", "127.0.0.1:8765", "null", "", tToken[:63], "", false)
	f.Fuzz(func(t *testing.T, method, path, host, origin, site, cookie, qtoken string, query bool) {
		r := request{Method: method, Path: path, Host: host, Origin: origin, SecFetchSite: site, Cookie: cookie, QueryToken: qtoken, Query: query}
		v := decide(r, tPort, tToken)
		if v == deny {
			return
		}
		if !loopbackHost(host, tPort) {
			t.Fatalf("%v for host %q", v, host)
		}
		if origin != "" && !pageOrigin(origin, tPort) {
			t.Fatalf("%v for origin %q", v, origin)
		}
		if site != "" && site != "same-origin" && site != "none" {
			t.Fatalf("%v for Sec-Fetch-Site %q", v, site)
		}
		if method != "GET" && method != "HEAD" && origin == "" {
			t.Fatalf("%v for %s without Origin", v, method)
		}
		switch v {
		case allow:
			if cookie != tToken || (query && qtoken != tToken) {
				t.Fatalf("allowed with cookie %q, address token %q", cookie, qtoken)
			}
		case login:
			if !query || qtoken != tToken || method != "GET" || path != "/" {
				t.Fatalf("login for %s %s with address token %q", method, path, qtoken)
			}
		}
	})
}

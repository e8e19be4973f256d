package diagnose

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/berth-dev/berth/hostagent/api"
	"github.com/berth-dev/berth/store"
)

func TestRedactText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"proxy http://alice:s3cret@proxy.test:3128 set", "proxy http://REDACTED@proxy.test:3128 set"},
		{"HTTPS_PROXY=https://bob:p@ss@proxy.test", "HTTPS_PROXY=https://REDACTED@proxy.test"},
		{`{"proxies":{"http-proxy":"http://u:pw@10.0.2.2:3128"}}`, `{"proxies":{"http-proxy":"http://REDACTED@10.0.2.2:3128"}}`},
		{"engine.proxy.http: carol:hunter2@proxy.test:3128", "engine.proxy.http: REDACTED@proxy.test:3128"},
		{`{"auths":{"registry.test":{"auth":"YWxpY2U6czNjcmV0"}}}`, `{"auths":{"registry.test":{"auth":"REDACTED"}}}`},
		{`{"username":"alice","password":"s3\"cret","serveraddress":"r.test"}`, `{"username":"alice","password":"REDACTED","serveraddress":"r.test"}`},
		{`{"IdentityToken": "eyJhbGciOi"}`, `{"IdentityToken": "REDACTED"}`},
		{`{"msg":"config","body":"{\"auth\":\"YWxpY2U6czNjcmV0\",\"x\":1}"}`, `{"msg":"config","body":"{\"auth\":\"REDACTED\",\"x\":1}"}`},
		{"X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ==\r\nHost: docker\r\n", "X-Registry-Auth: REDACTED\r\nHost: docker\r\n"},
		{`"Header":{"X-Registry-Auth":["eyJ1c2VybmFtZSI6ImEifQ=="]}`, `"Header":{"X-Registry-Auth":["REDACTED"]}`},
		{"Proxy-Authorization: Basic YTpi", "Proxy-Authorization: REDACTED"},
		{"level=INFO REGISTRY_PASSWORD=hunter2 next=1", "level=INFO REGISTRY_PASSWORD=REDACTED next=1"},
		// Not credentials: left byte for byte.
		{"pulled alpine:3.20@sha256:beefdeadbeef", "pulled alpine:3.20@sha256:beefdeadbeef"},
		{"listening on http://127.0.0.1:2375/v1.47/_ping", "listening on http://127.0.0.1:2375/v1.47/_ping"},
		{`{"auths":{"registry.test":{}},"credsStore":"desktop"}`, `{"auths":{"registry.test":{}},"credsStore":"desktop"}`},
		{"mail git@example.test at 12:30", "mail git@example.test at 12:30"},
	} {
		if got := string(RedactText([]byte(c.in))); got != c.want {
			t.Errorf("RedactText(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}

// A config whose proxy URL does not parse as a URL still loses its password.
func TestRedactConfigUnparsableURL(t *testing.T) {
	out := string(Redact([]byte("engine:\n  proxy:\n    http: http://alice:p%zz@proxy.test:3128\n")))
	if strings.Contains(out, "p%zz") || !strings.Contains(out, "proxy.test:3128") {
		t.Errorf("redacted:\n%s", out)
	}
}

// The bundle of a machine whose config, logs, status and driver report
// hold a proxy password and registry credentials holds none of them.
func TestBundleHoldsNoCredential(t *testing.T) {
	const (
		proxyPass = "pr0xyPassw0rd"
		regPass   = "regi5tryPass"
	)
	auth := base64.StdEncoding.EncodeToString([]byte("alice:" + regPass))
	m, _ := store.Open(t.TempDir(), "default")
	if err := m.Ensure(); err != nil {
		t.Fatal(err)
	}
	agentLog := `{"level":"INFO","msg":"engine settings","daemon":"{\"proxies\":{\"https-proxy\":\"http://bob:` + proxyPass + `@10.0.2.2:3128\"}}"}
{"level":"DEBUG","msg":"docker bridge request","header":{"X-Registry-Auth":["` + auth + `"]}}
{"level":"INFO","msg":"docker config","config":{"auths":{"registry.test":{"auth":"` + auth + `"}}}}
`
	serial := "dockerd: using proxy https://bob:" + proxyPass + "@10.0.2.2:3128\nlogin: {\"username\":\"alice\",\"password\":\"" + regPass + "\"}\n"
	for f, b := range map[string]string{store.AgentLogFile: agentLog, store.SerialLogFile: serial, "qemu.log": "HTTPS_PROXY=http://bob:" + proxyPass + "@proxy.test\n"} {
		if err := os.WriteFile(m.Path(f), []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := t.TempDir() + "/config.yaml"
	os.WriteFile(cfg, []byte("engine:\n  proxy:\n    https: http://bob:"+proxyPass+"@proxy.test:3128\n    http: bob:"+proxyPass+"@proxy.test:3128\n"), 0o600)
	var buf bytes.Buffer
	err := Write(&buf, Options{Machine: m, ConfigPath: cfg, ImageDir: t.TempDir(), Version: "test", DriverLogs: []string{"qemu.log"},
		Status:       &api.Status{State: api.StateError, Error: "pull through http://bob:" + proxyPass + "@proxy.test failed"},
		DriverReport: map[string]string{"env.txt": "REGISTRY_PASSWORD=" + regPass + "\n"}})
	if err != nil {
		t.Fatal(err)
	}
	files := untar(t, &buf)
	for _, f := range []string{"config.yaml", store.AgentLogFile, store.SerialLogFile, "qemu.log", "status.json", "driver/env.txt"} {
		if !strings.Contains(files[f], Redacted) {
			t.Errorf("%s was not redacted: %q", f, files[f])
		}
	}
	for name, b := range files {
		for _, secret := range []string{proxyPass, regPass, auth} {
			if strings.Contains(b, secret) {
				t.Errorf("%s holds %q:\n%s", name, secret, b)
			}
		}
	}
}

func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "berth-diagnose/")] = string(b)
	}
}

// FuzzRedactText: a password planted in any text, in a proxy URL, a bare
// user:password@host, a registry auth or a password member, never comes
// out; and redacting twice changes nothing more.
func FuzzRedactText(f *testing.F) {
	f.Add("level=INFO msg=", " rest", "alice", "s3cretPw")
	f.Add(`{"a":"`, `"}`, "bob", "p@ss:w0rd")
	f.Add("", "", "u", "hunter22")
	f.Add("HTTP_PROXY=", "\n", "user.name", "c0mpl!cated$")
	f.Fuzz(func(t *testing.T, prefix, suffix, user, pass string) {
		once := RedactText([]byte(prefix + suffix))
		if twice := RedactText(once); !bytes.Equal(once, twice) {
			t.Fatalf("a second pass changed %q to %q", once, twice)
		}
		// Credentials as URLs and files carry them: no spaces or controls,
		// no quotes, slashes or @ (a URL escapes them).
		if len(pass) < 6 || strings.ContainsAny(pass, "/@\"'\\") || strings.ContainsAny(user, "/@:\"'\\=,;()[]") || user == "" ||
			strings.ContainsFunc(user+pass, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return
		}
		if strings.Contains(prefix+suffix+user+Redacted, pass) {
			return
		}
		b64 := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		for _, planted := range []string{
			"http://" + user + ":" + pass + "@proxy.test:3128",
			" " + user + ":" + pass + "@proxy.test:3128",
			`{"auths":{"r.test":{"auth":"` + b64 + `"}}}`,
			`{"password":"` + pass + `"}`,
			`\"password\":\"` + pass + `\"`,
		} {
			secret := pass
			if strings.Contains(planted, b64) {
				secret = b64
				if strings.Contains(prefix+suffix, b64) {
					continue
				}
			}
			out := RedactText([]byte(prefix + planted + suffix))
			if bytes.Contains(out, []byte(secret)) {
				t.Fatalf("%q left in %q", secret, out)
			}
		}
	})
}

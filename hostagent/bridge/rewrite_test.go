package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPaths is a Windows user's shares as a host agent on Windows would
// describe them, plus a Unix home for the Linux cases.
func testPaths() *Paths {
	return &Paths{
		Shares: []Share{
			{HostPath: "/home/dev", GuestPath: "/home/dev"},
			{HostPath: `C:\Users\dev`, GuestPath: "/mnt/c/Users/dev", WindowsPath: `C:\Users\dev`},
			{HostPath: `C:\data`, GuestPath: "/mnt/c/data", WindowsPath: `C:\data`},
			{HostPath: `E:\`, GuestPath: "/mnt/e", WindowsPath: `E:`},
		},
		GuestOnly: DefaultGuestOnly,
		Hint:      "add it to shares in the config and restart the machine",
	}
}

func TestResolve(t *testing.T) {
	p := testPaths()
	cases := []struct{ in, want, err string }{
		{in: `C:\data\app`, want: "/mnt/c/data/app"},
		{in: `c:\DATA\app`, want: "/mnt/c/data/app"},
		{in: `C:/data/app/`, want: "/mnt/c/data/app"},
		{in: `//c/data/app`, want: "/mnt/c/data/app"},
		{in: `C:\data`, want: "/mnt/c/data"},
		{in: `C:\data\..\data\x`, want: "/mnt/c/data/x"},
		{in: `C:\Users\dev\src\My App`, want: "/mnt/c/Users/dev/src/My App"},
		{in: `E:/Download/music`, want: "/mnt/e/Download/music"},
		{in: `E:`, want: "/mnt/e"},
		{in: `e:\`, want: "/mnt/e"},
		{in: `C:\database`, err: `C:\database is not shared`},
		{in: `C:\data\..\Windows`, err: `C:\data\..\Windows is not shared`},
		{in: `D:\x`, err: "not shared"},
		{in: `\\server\share\x`, err: "not shared"},
		{in: "/home/dev/app", want: "/home/dev/app"},
		{in: "/home/dev", want: "/home/dev"},
		{in: "/home/developer", err: "not shared"},
		{in: "/home/dev/../../etc", err: "not shared"},
		{in: "/var/run/docker.sock", want: "/var/run/docker.sock"},
		{in: "/proc/sys", want: "/proc/sys"},
		{in: "/mnt/c/data/x", want: "/mnt/c/data/x"},
		{in: "named", want: "named"},
		{in: "/c/data", err: "not shared"}, // a Linux path, not MSYS
		{in: "/", want: "/"},               // the VM's own root, as on Docker Desktop
		{in: "//", want: "//"},
		{in: "/.", want: "/."},
		{in: "/tmp", err: "/tmp is not shared"},
		{in: `C:\`, err: `C:\ is not shared`}, // a Windows host's root stays the host's
	}
	for _, c := range cases {
		got, err := p.resolve(c.in)
		if c.err != "" {
			var pe *PathError
			if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p.Hint) {
				t.Errorf("resolve(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("resolve(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestSplitBind(t *testing.T) {
	cases := []struct{ in, src, rest string }{
		{`C:\data\app:/usr/share/nginx/html:ro`, `C:\data\app`, ":/usr/share/nginx/html:ro"},
		{`C:/data:/x`, `C:/data`, ":/x"},
		{`//c/data/app:/app`, `//c/data/app`, ":/app"},
		{`vol:/data`, "vol", ":/data"},
		{`c:/data`, "c", ":/data"}, // the named volume "c"
		{`/home/dev:/h:rw,z`, "/home/dev", ":/h:rw,z"},
		{`nocolon`, "nocolon", ""},
	}
	for _, c := range cases {
		src, rest := splitBind(c.in)
		if src != c.src || rest != c.rest {
			t.Errorf("splitBind(%q) = %q, %q; want %q, %q", c.in, src, rest, c.src, c.rest)
		}
	}
}

// recorded maps each recorded create request (testdata/windows-cli, as
// the docker CLI sent them; see README there) to the string replacements
// expected in its body, or to the error the bridge answers with.
var recorded = map[string]struct {
	repl [][2]string
	err  string
}{
	"run-v-backslash-ro-p8080":            {repl: [][2]string{{`"C:\\data\\app:/usr/share/nginx/html:ro"`, `"/mnt/c/data/app:/usr/share/nginx/html:ro"`}}},
	"run-v-forward-slash":                 {repl: [][2]string{{`"C:/data/app:/usr/share/nginx/html"`, `"/mnt/c/data/app:/usr/share/nginx/html"`}}},
	"run-v-msys-double-slash":             {repl: [][2]string{{`"//c/data/app:/app"`, `"/mnt/c/data/app:/app"`}}},
	"mount-bind-e-drive-and-named-volume": {repl: [][2]string{{`"E:/Download/music"`, `"/mnt/e/Download/music"`}}},
	"mount-bind-backslash-and-volume":     {repl: [][2]string{{`"C:\\data\\app"`, `"/mnt/c/data/app"`}}},
	"api-1.24-binds-and-named-volume":     {repl: [][2]string{{`"C:\\data\\app:/usr/share/nginx/html:ro"`, `"/mnt/c/data/app:/usr/share/nginx/html:ro"`}}},
	"api-1.41-mount-and-linux-bind":       {repl: [][2]string{{`"C:\\Users\\dev\\src"`, `"/mnt/c/Users/dev/src"`}}},
	"linux-path-outside-shares":           {err: "bind source path /tmp/outside is not shared"},
	// "/" is the VM's own root (the host's never is shared): it passes as is.
	"run-rm-it-v-root-chroot":      {},
	"mount-bind-root":              {},
	"run-v-msys-double-slash-root": {},
	"api-1.24-binds-root":          {},
}

func TestRecordedWindowsRequests(t *testing.T) {
	files, _ := filepath.Glob("testdata/windows-cli/*.http")
	if len(files) != len(recorded) {
		t.Fatalf("%d recorded requests, %d expectations", len(files), len(recorded))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".http")
		t.Run(name, func(t *testing.T) {
			want, ok := recorded[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			// A second request on the same connection passes untouched.
			next := "GET /v1.45/containers/json HTTP/1.1\r\nHost: x\r\n\r\n"
			var engine, reply bytes.Buffer
			fw := &forwarder{paths: testPaths(), log: slog.New(slog.DiscardHandler)}
			err = fw.run(&engine, bufio.NewReader(strings.NewReader(string(raw)+next)), &reply)
			if want.err != "" {
				if !errors.Is(err, errReplied) || engine.Len() != 0 {
					t.Fatalf("run: %v, engine got %q", err, engine.String())
				}
				resp, err := http.ReadResponse(bufio.NewReader(&reply), nil)
				if err != nil {
					t.Fatal(err)
				}
				var msg struct{ Message string }
				_ = json.NewDecoder(resp.Body).Decode(&msg)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg.Message, want.err) {
					t.Fatalf("reply %d %q; want 400 with %q", resp.StatusCode, msg.Message, want.err)
				}
				return
			}
			if err != nil || reply.Len() != 0 {
				t.Fatalf("run: %v, reply %q", err, reply.String())
			}
			wantBody := string(body)
			for _, r := range want.repl {
				if !strings.Contains(wantBody, r[0]) {
					t.Fatalf("recording lacks %s", r[0])
				}
				wantBody = strings.Replace(wantBody, r[0], r[1], 1)
			}
			br := bufio.NewReader(&engine)
			got, err := http.ReadRequest(br)
			if err != nil {
				t.Fatal(err)
			}
			gotBody, _ := io.ReadAll(got.Body)
			if string(gotBody) != wantBody {
				t.Fatalf("body:\n%s\nwant:\n%s", gotBody, wantBody)
			}
			if got.URL.Path != req.URL.Path || got.Header.Get("User-Agent") != req.Header.Get("User-Agent") {
				t.Fatalf("request line or headers changed: %s %v", got.URL, got.Header)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != next {
				t.Fatalf("the next request became %q", rest)
			}
		})
	}
}

func TestUnchangedRequestsAreByteExact(t *testing.T) {
	body := `{"Image":"x","HostConfig":{"Binds":["/home/dev/a:/a","vol:/v"],"Mounts":[{"Type":"volume","Source":"C:\\not-a-bind"}]}}`
	stream := "POST /v1.45/containers/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"10;ext=1\r\n" + body[:16] + "\r\n" + fmt.Sprintf("%X", len(body)-16) + "\r\n" + body[16:] + "\r\n0\r\nX-Trailer: 1\r\n\r\n" +
		"\r\n" + // a stray CRLF between requests
		"POST /build HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /_ping HTTP/1.1\r\n\r\n"
	var engine, reply bytes.Buffer
	fw := &forwarder{paths: testPaths(), log: slog.New(slog.DiscardHandler)}
	if err := fw.run(&engine, bufio.NewReader(strings.NewReader(stream)), &reply); err != nil {
		t.Fatal(err)
	}
	if engine.String() != stream || reply.Len() != 0 {
		t.Fatalf("forwarded:\n%q\nwant:\n%q", engine.String(), stream)
	}
}

func TestChunkedCreateIsRewritten(t *testing.T) {
	body := `{"HostConfig":{"Binds":["C:\\data\\x:/x"]}}`
	stream := "POST /containers/create?name=a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\n" + body[:5] + "\r\n" + fmt.Sprintf("%x", len(body)-5) + "\r\n" + body[5:] + "\r\n0\r\n\r\n"
	var engine, reply bytes.Buffer
	fw := &forwarder{paths: testPaths(), log: slog.New(slog.DiscardHandler)}
	if err := fw.run(&engine, bufio.NewReader(strings.NewReader(stream)), &reply); err != nil {
		t.Fatal(err)
	}
	want := "POST /containers/create?name=a HTTP/1.1\r\nHost: x\r\nContent-Length: 45\r\n\r\n" + `{"HostConfig":{"Binds":["/mnt/c/data/x:/x"]}}`
	if engine.String() != want {
		t.Fatalf("forwarded:\n%q\nwant:\n%q", engine.String(), want)
	}
}

func TestHijackSwitchesToRawCopy(t *testing.T) {
	// After the upgrade, bytes that look like a create request are stream
	// data and must not be touched.
	stream := "POST /v1.45/exec/abc/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n{}" +
		"POST /containers/create HTTP/1.1\r\nContent-Length: 40\r\n\r\n" + `{"HostConfig":{"Binds":["C:\\x:/x"]}}   `
	var engine, reply bytes.Buffer
	fw := &forwarder{paths: testPaths(), log: slog.New(slog.DiscardHandler)}
	if err := fw.run(&engine, bufio.NewReader(strings.NewReader(stream)), &reply); err != nil {
		t.Fatal(err)
	}
	if engine.String() != stream {
		t.Fatalf("forwarded %q", engine.String())
	}
}

func TestRewriteKeepsEverythingElse(t *testing.T) {
	in := "{ \"hostconfig\" : {\"binds\" : [ \"C:\\\\data\\\\a b:/a\" , \"v:/v\"],\n \"Mounts\":[{\"Source\":\"C:/data/<x>\",\"Target\":\"/m\",\"Type\":\"bind\"},{\"Type\":\"bind\",\"Source\":\"E:\"}]}, \"Image\":\"\\u0078\"}"
	want := "{ \"hostconfig\" : {\"binds\" : [ \"/mnt/c/data/a b:/a\" , \"v:/v\"],\n \"Mounts\":[{\"Source\":\"/mnt/c/data/<x>\",\"Target\":\"/m\",\"Type\":\"bind\"},{\"Type\":\"bind\",\"Source\":\"/mnt/e\"}]}, \"Image\":\"\\u0078\"}"
	out, changed, err := RewriteCreate([]byte(in), testPaths())
	if err != nil || !changed || string(out) != want {
		t.Fatalf("RewriteCreate: %v %v\n%s\nwant\n%s", changed, err, out, want)
	}
	for _, notJSON := range []string{"", "null", "[1]", "{", `{"HostConfig":{"Binds":["C:\\x:/x"]}} trailing`} {
		out, changed, err := RewriteCreate([]byte(notJSON), testPaths())
		if err != nil || changed || string(out) != notJSON {
			t.Errorf("RewriteCreate(%q) = %q %v %v; want it unchanged", notJSON, out, changed, err)
		}
	}
}

func TestBridgeAnswersForUnsharedPath(t *testing.T) {
	engine := fakeEngine(t)
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	b := New(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", engine)
	}, slog.New(slog.DiscardHandler)).WithPaths(testPaths())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Serve(ctx, ln)
	hc := unixClient(sock)
	resp, err := hc.Post("http://docker/v1.45/containers/create", "application/json", strings.NewReader(`{"HostConfig":{"Binds":["D:\\x:/x"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"message":"bind source path D:\\x is not shared`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, err = hc.Get("http://docker/_ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ping after a refusal: %s", resp.Status)
	}
}

package bridge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A Windows container's targets are Windows paths too (C:\app). The Linux
// engine's rewrite maps sources only: a C:\ target is left as the user
// wrote it, in Binds (with or without options, from a share or a named
// volume) and in Mounts.
func TestRewriteLeavesWindowsTargets(t *testing.T) {
	body := `{"HostConfig":{"Binds":["C:\\data\\app:C:\\app","vol:C:\\cache","C:\\data:C:\\ro:ro"],` +
		`"Mounts":[{"Type":"bind","Source":"C:\\data\\x","Target":"C:\\x"},{"Type":"volume","Source":"v","Target":"C:\\v"}]}}`
	out, changed, err := RewriteCreate([]byte(body), testPaths())
	if err != nil || !changed {
		t.Fatalf("RewriteCreate: changed %v, %v", changed, err)
	}
	var got struct {
		HostConfig struct {
			Binds  []string
			Mounts []struct{ Type, Source, Target string }
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	wantBinds := []string{`/mnt/c/data/app:C:\app`, `vol:C:\cache`, `/mnt/c/data:C:\ro:ro`}
	if fmt.Sprint(got.HostConfig.Binds) != fmt.Sprint(wantBinds) {
		t.Errorf("Binds %q, want %q", got.HostConfig.Binds, wantBinds)
	}
	m := got.HostConfig.Mounts
	if len(m) != 2 || m[0].Source != "/mnt/c/data/x" || m[0].Target != `C:\x` || m[1].Source != "v" || m[1].Target != `C:\v` {
		t.Errorf("Mounts %+v", m)
	}
}

// The Windows engine's bridge has no Paths: a Windows container's create,
// with host paths no share holds, reaches the engine byte for byte.
func TestWindowsEngineBridgePassesBinds(t *testing.T) {
	body := `{"Image":"mcr.microsoft.com/windows/nanoserver:ltsc2022","HostConfig":{"Binds":["D:\\build:C:\\build","C:\\Users\\dev\\src:C:\\src:ro"],` +
		`"Mounts":[{"Type":"bind","Source":"\\\\server\\share","Target":"C:\\share"}],"Isolation":"hyperv"}}`
	stream := fmt.Sprintf("POST /v1.45/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	var engine, reply bytes.Buffer
	fw := &forwarder{log: slog.New(slog.DiscardHandler)} // as New(dial, log) without WithPaths
	if err := fw.run(&engine, bufio.NewReader(strings.NewReader(stream)), &reply); err != nil {
		t.Fatal(err)
	}
	if engine.String() != stream || reply.Len() != 0 {
		t.Fatalf("forwarded:\n%q\nreplied %q", engine.String(), reply.String())
	}
}

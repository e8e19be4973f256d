package dashboard

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestImagesVolumesNetworks(t *testing.T) {
	f, dial := newFakeEngine(t)
	c1 := summary("c1", "web", "exited", "Exited", nil)
	c1["ImageID"] = "sha256:aaa"
	c1["Mounts"] = []map[string]any{{"Type": "volume", "Name": "data"}, {"Type": "bind", "Source": "/src"}}
	f.containers = []map[string]any{c1}
	f.images = []map[string]any{
		{"Id": "sha256:aaa", "RepoTags": []string{"web:1"}, "Size": 5000, "Created": 2},
		{"Id": "sha256:bbb", "RepoTags": []string{"<none>:<none>"}, "Size": 7000, "Created": 3},
	}
	f.df = map[string]any{
		"LayersSize": 12000,
		"Images":     f.images,
		"Containers": []map[string]any{c1},
		"Volumes": []map[string]any{
			{"Name": "data", "Driver": "local", "UsageData": map[string]any{"Size": 300, "RefCount": 1}},
			{"Name": "old", "Driver": "local", "UsageData": map[string]any{"Size": 42, "RefCount": 0}},
		},
		"BuildCache": []map[string]any{},
	}
	disk := filepath.Join(t.TempDir(), "data.img")
	if err := os.WriteFile(disk, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 1<<30); err != nil {
		t.Fatal(err)
	}
	s, err := Start(Options{Agent: &fakeAgent{}, Docker: dial, DataDisk: disk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	_, p := startPageOn(t, s, f)

	var ims []Image
	code, body := p.do("GET", "/api/images")
	if code != http.StatusOK || json.Unmarshal(body, &ims) != nil || len(ims) != 2 {
		t.Fatalf("images: %d %s", code, body)
	}
	if ims[0].ID != "sha256:bbb" || len(ims[0].Tags) != 0 || len(ims[0].UsedBy) != 0 ||
		ims[1].Size != 5000 || !slices.Equal(ims[1].UsedBy, []string{"web"}) || !slices.Equal(ims[1].Tags, []string{"web:1"}) {
		t.Errorf("images %+v: newest first, <none> dropped, used by its container", ims)
	}
	var vols []Volume
	code, body = p.do("GET", "/api/volumes")
	if code != http.StatusOK || json.Unmarshal(body, &vols) != nil || len(vols) != 2 ||
		vols[0].Name != "data" || vols[0].Size != 300 || !slices.Equal(vols[0].UsedBy, []string{"web"}) || len(vols[1].UsedBy) != 0 {
		t.Errorf("volumes: %d %s", code, body)
	}
	var nets []Network
	code, body = p.do("GET", "/api/networks")
	if code != http.StatusOK || json.Unmarshal(body, &nets) != nil || len(nets) != 1 || nets[0].Subnets[0] != "172.17.0.0/16" {
		t.Errorf("networks: %d %s", code, body)
	}
	var du DiskUsage
	code, body = p.do("GET", "/api/df")
	if code != http.StatusOK || json.Unmarshal(body, &du) != nil || len(du.Rows) != 4 ||
		du.Rows[0].Type != "Images" || du.Rows[0].Total != 2 || du.Rows[2].Size != 342 ||
		du.HostDiskSize != 1<<30 || du.HostDiskUsed <= 0 || du.HostDiskUsed > 1<<30 {
		t.Errorf("df: %d %s", code, body)
	}
	// A sparse file takes what was written (Windows' allocation is not read).
	if runtime.GOOS != "windows" && du.HostDiskUsed >= 1<<30 {
		t.Errorf("df: %d %s", code, body)
	}

	// An image in use is refused with the engine's words; a free one goes.
	if code, body := p.do("DELETE", "/api/images/sha256:zzz"); code != http.StatusConflict || !strings.Contains(string(body), "being used") {
		t.Errorf("rmi in use: %d %s", code, body)
	}
	var rec Reclaimed
	code, body = p.do("DELETE", "/api/images/sha256:bbb")
	if code != http.StatusOK || json.Unmarshal(body, &rec) != nil || !slices.Equal(rec.Deleted, []string{"sha256:bbb"}) {
		t.Errorf("rmi: %d %s", code, body)
	}
	for _, c := range []struct{ path, want string }{
		{"/api/images/prune", `"bytes":1000`},
		{"/api/volumes/prune", `"bytes":42`},
		{"/api/reclaim", `"bytes":1500`},
	} {
		if code, body := p.post(c.path, nil); code != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s, want %s", c.path, code, body, c.want)
		}
	}
	if code, _ := p.do("DELETE", "/api/volumes/old"); code != http.StatusNoContent {
		t.Errorf("volume rm: %d", code)
	}
	want := []string{"rmi sha256:bbb", `image prune {"dangling":{"true":true}}`, `volume prune {"all":{"true":true}}`,
		`image prune {"dangling":{"true":true}}`, "build prune all=1", "volume rm old"}
	if got := f.callLog(); !slices.Equal(got, want) {
		t.Errorf("engine calls\n%q\nwant\n%q", got, want)
	}
}

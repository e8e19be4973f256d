package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/berth-dev/berth/config"
)

// settingKeys are the settings the page changes, by their config keys:
// the ones users change most. Anything else is `berth config set`'s.
var settingKeys = []string{"cpus", "memory", "disk", "shares", "engine.proxy.http", "engine.proxy.https", "engine.proxy.noProxy", "ports.defaultBind"}

// Settings is what the page shows of the config: each key's value as
// written in the file ("" when unset), its default, and whether the
// running machine started with another config (a restart applies it).
type Settings struct {
	Values   map[string]string `json:"values"`
	Defaults map[string]string `json:"defaults"`
	Restart  bool              `json:"restart"`
}

// SettingsError is a refused change: every problem, by the key it is about
// ("" for one that names none).
type SettingsError struct {
	Errors map[string]string `json:"errors"`
}

func (s *Server) settingsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/settings", s.getSettings)
	mux.HandleFunc("POST /api/settings", s.setSettings)
}

func (s *Server) readConfig() ([]byte, error) {
	b, err := os.ReadFile(s.o.ConfigPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	doc, err := s.readConfig()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	c, _, err := config.Parse(doc)
	if err != nil {
		writeError(w, http.StatusInternalServerError, s.o.ConfigPath+": "+err.Error())
		return
	}
	def, _ := config.Resolve(&config.Config{}, s.o.Host)
	out := Settings{Values: settingValues(c), Defaults: map[string]string{
		"cpus": strconv.Itoa(def.CPUs), "memory": strconv.Itoa(def.MemoryMiB) + "MiB", "disk": strconv.Itoa(def.DiskGiB) + "GiB",
		"shares": sharePaths(def.Shares), "ports.defaultBind": def.DefaultBind,
	}}
	out.Restart = s.restartNeeded(r, doc)
	writeJSON(w, http.StatusOK, out)
}

// settingValues are the file's values as the page's fields show them.
func settingValues(c *config.Config) map[string]string {
	v := map[string]string{}
	if c.CPUs != nil {
		v["cpus"] = strconv.Itoa(*c.CPUs)
	}
	if c.Memory != nil {
		v["memory"] = *c.Memory
	}
	if c.Disk != nil {
		v["disk"] = *c.Disk
	}
	if c.Shares != nil {
		v["shares"] = sharePaths(c.Shares)
	}
	v["engine.proxy.http"], v["engine.proxy.https"], v["engine.proxy.noProxy"] = c.Engine.Proxy.HTTP, c.Engine.Proxy.HTTPS, c.Engine.Proxy.NoProxy
	if c.Ports.DefaultBind != nil {
		v["ports.defaultBind"] = *c.Ports.DefaultBind
	}
	return v
}

// sharePaths is the shares as the page edits them: one folder a line.
func sharePaths(sh []config.Share) string {
	var p []string
	for _, s := range sh {
		p = append(p, s.Path)
	}
	return strings.Join(p, "\n")
}

// restartNeeded: the running machine started with another config than doc.
func (s *Server) restartNeeded(r *http.Request, doc []byte) bool {
	st, err := s.o.Agent.Status(r.Context())
	if err != nil || !st.State.Up() || st.ConfigDigest == "" {
		return false
	}
	res, _, err := config.Check(doc, s.o.Host)
	return err == nil && res.Digest() != st.ConfigDigest
}

// setSettings changes the keys the page sends, as `berth config set` would
// one by one, and saves the file only if the whole of it is valid (the
// same validation, config.Save: atomic, never a half-written file).
func (s *Server) setSettings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Values map[string]string `json:"values"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	doc, err := s.readConfig()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	c, _, err := config.Parse(doc)
	if err != nil {
		writeError(w, http.StatusInternalServerError, s.o.ConfigPath+": "+err.Error())
		return
	}
	if len(doc) == 0 {
		doc = config.DefaultFile
	}
	bad := map[string]string{}
	for _, key := range settingKeys {
		v, ok := req.Values[key]
		if !ok {
			continue
		}
		next, err := config.Set(doc, key, settingYAML(key, v, c.Shares))
		if err != nil {
			bad[key] = err.Error()
			continue
		}
		doc = next
	}
	for key := range req.Values {
		if !isSettingKey(key) {
			bad[key] = "not a setting of this page (`berth config set` changes any key)"
		}
	}
	if len(bad) == 0 {
		if _, err := config.Save(s.o.ConfigPath, doc, s.o.Host); err != nil {
			bad = fieldErrors(err)
		}
	}
	if len(bad) > 0 {
		writeJSON(w, http.StatusBadRequest, SettingsError{Errors: bad})
		return
	}
	s.getSettings(w, r)
}

func isSettingKey(k string) bool {
	for _, s := range settingKeys {
		if s == k {
			return true
		}
	}
	return false
}

// settingYAML is a field's text as the YAML value `config set` takes: ""
// unsets the key; cpus as written (a number, or the type error that names
// it); shares one folder a line, keeping what the file says of each folder
// it had; anything else a string.
func settingYAML(key, v string, had []config.Share) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	switch key {
	case "cpus":
		return v
	case "shares":
		old := map[string]config.Share{}
		for _, s := range had {
			old[s.Path] = s
		}
		var list []map[string]any
		for _, p := range strings.Split(v, "\n") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			m := map[string]any{"path": p}
			if o, ok := old[p]; ok {
				if o.ReadOnly {
					m["readOnly"] = true
				}
				if o.WindowsPath != "" {
					m["windowsPath"] = o.WindowsPath
				}
			}
			list = append(list, m)
		}
		return yamlText(list)
	}
	return yamlText(v)
}

// yamlText is v as YAML (a string stays a string: "8080" is quoted).
func yamlText(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

var errorField = regexp.MustCompile(`^(?:line \d+: )?([A-Za-z][A-Za-z.]*)(?:\[\d+\][A-Za-z.]*)?: `)

// fieldErrors sorts the validation's problems (one a line, each naming its
// field) by the page's keys: "shares[0].path: ..." is the shares field's.
func fieldErrors(err error) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		key := ""
		if m := errorField.FindStringSubmatch(line); m != nil && isSettingKey(m[1]) {
			key = m[1]
		}
		if out[key] != "" {
			out[key] += "\n"
		}
		out[key] += line
	}
	return out
}

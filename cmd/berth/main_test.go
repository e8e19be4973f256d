package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/berth-dev/berth/internal/wine"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"berth": func() { os.Exit(run()) },
	})
}

// TestScripts runs the CLI's behaviour scripts (testdata/script/*.txtar):
// no VM is booted; each script has its own BERTH_HOME and DOCKER_CONFIG.
func TestScripts(t *testing.T) {
	wine.Skip(t, "the scripts speak unix paths and sockets; Wine has no AF_UNIX")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("BERTH_HOME", e.WorkDir+"/.berth")
			e.Setenv("DOCKER_CONFIG", e.WorkDir+"/.docker")
			e.Setenv("BERTH_IMAGE_DIR", e.WorkDir+"/no-image")
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("EDITOR", "false")
			return nil
		},
	})
}

func TestDockerCLIHint(t *testing.T) {
	found := func(string) (string, error) { return "/usr/bin/docker", nil }
	var asked string
	missing := func(name string) (string, error) { asked = name; return "", exec.ErrNotFound }
	if h := dockerCLIHint(found, "linux"); h != "" {
		t.Errorf("with a docker CLI: hint %q, want none", h)
	}
	for goos, want := range map[string]string{
		"linux":   "sudo apt-get install docker.io",
		"darwin":  "brew install docker",
		"windows": "winget install Docker.DockerCLI",
	} {
		h := dockerCLIHint(missing, goos)
		if asked != "docker" || !strings.Contains(h, "No docker CLI is on PATH") || !strings.Contains(h, want) {
			t.Errorf("%s without docker (looked up %q): hint %q, want one naming %q", goos, asked, h, want)
		}
	}
}

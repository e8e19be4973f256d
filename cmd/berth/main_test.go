package main

import (
	"os"
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

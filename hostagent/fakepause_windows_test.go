package hostagent

import (
	"errors"
	"os"
)

var errNoStop = errors.New("the fake VM cannot be paused on Windows")

func stopProcess(*os.Process) error { return errNoStop }
func contProcess(*os.Process) error { return errNoStop }

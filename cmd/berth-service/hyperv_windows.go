package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/vm/hyperv"
	"github.com/berth-dev/berth/vm/hyperv/hcsvm"
	"github.com/berth-dev/berth/winservice"
)

// hyperVManager is the service's Hyper-V side: vm/hyperv's HCS manager. It
// boots the guest image installed beside the service (image\amd64 in
// %ProgramFiles%\Berth\service, which only administrators may change: never
// the per-user install's copy, which its user could replace) and keeps
// each user's machines in %ProgramData%\Berth\hyperv, SYSTEM's and
// Administrators' only.
func hyperVManager() (hyperv.Manager, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(os.Getenv("ProgramData"), "Berth", "hyperv")
	if err := winservice.SecureServiceDir(data); err != nil {
		return nil, err
	}
	return hcsvm.NewManager(filepath.Join(filepath.Dir(exe), "image", "amd64"), data), nil
}

// noHyperV answers every Hyper-V request with why the service has no
// Hyper-V side (its directory could not be made safe), while the Windows
// engine runs on.
type noHyperV struct{ err error }

func (n noHyperV) Start(context.Context, string, hyperv.MachineRequest) (hyperv.MachineState, error) {
	return hyperv.MachineState{}, n.err
}
func (n noHyperV) Stop(context.Context, string, string) error { return n.err }
func (n noHyperV) State(context.Context, string, string) (hyperv.MachineState, error) {
	return hyperv.MachineState{}, n.err
}

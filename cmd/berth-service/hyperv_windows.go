package main

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/vm/hyperv"
)

// hyperVManager is the service's Hyper-V side: vm/hyperv's HCS manager
// when it is built in; until then every request says so.
func hyperVManager() hyperv.Manager { return noHyperV{} }

var errNoHyperV = errors.New("this berth-service has no Hyper-V driver")

type noHyperV struct{}

func (noHyperV) Start(context.Context, string, hyperv.MachineRequest) (hyperv.MachineState, error) {
	return hyperv.MachineState{}, errNoHyperV
}
func (noHyperV) Stop(context.Context, string, string) error { return errNoHyperV }
func (noHyperV) State(context.Context, string, string) (hyperv.MachineState, error) {
	return hyperv.MachineState{}, errNoHyperV
}

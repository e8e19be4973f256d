//go:build windows

package winservice

import (
	"context"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/eventlog"

	"github.com/berth-dev/berth/vm/hyperv"
)

// EventSource is the service's event log source (the installer registers
// it under the Application log).
const EventSource = "berth-service"

// Config is what the service is installed with: its command line in the
// service's registry entry, which only administrators can change.
type Config struct {
	// Principal is the account (user or group name) the service serves
	// and whose members the Windows engine's pipe admits.
	Principal string
	// Dockerd is the dockerd.exe to run; empty to look for one
	// (DockerdCandidates).
	Dockerd string
	// HyperV creates and runs Hyper-V machines.
	HyperV hyperv.Manager
}

// Run is the service's life: the event log, the principal's SID, the
// Windows engine under its supervisor (when the features and a dockerd.exe
// are there; otherwise its status says why not), and the control pipe,
// until ctx ends. When it returns the engine has stopped and the pipe is
// closed.
func Run(ctx context.Context, cfg Config) error {
	elog, err := eventlog.Open(EventSource)
	if err != nil {
		return fmt.Errorf("opening the event log: %w", err)
	}
	defer elog.Close() //nolint:errcheck
	sid, _, _, err := windows.LookupSID("", cfg.Principal)
	if err != nil {
		_ = elog.Error(EventLifetime, fmt.Sprintf("the principal %q: %v", cfg.Principal, err))
		return fmt.Errorf("the service's principal %q: %w", cfg.Principal, err)
	}
	features := DISM{}
	var engine EngineReporter
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if sup, why := engineSupervisor(ctx, cfg, features, elog); sup != nil {
		engine = sup
		wg.Go(func() { sup.Run(ctx) })
	} else {
		engine = Unavailable(why)
		_ = elog.Warning(EventEngine, "the Windows engine does not run: "+why)
	}
	ln, err := Listen(ServicePipe, ServiceSDDL(sid.String()))
	if err != nil {
		_ = elog.Error(EventLifetime, err.Error())
		return err
	}
	_ = elog.Info(EventLifetime, fmt.Sprintf("berth-service serves %s for %s (%s)", ServicePipe, cfg.Principal, sid))
	s := &Service{Principal: sid.String(), Features: features, Engine: engine, HyperV: cfg.HyperV, Log: elog}
	return Serve(ctx, ln, s)
}

// engineSupervisor is the Windows engine's supervisor, or nil and why it
// cannot run.
func engineSupervisor(ctx context.Context, cfg Config, features FeatureReader, elog EventLog) (*Supervisor, string) {
	f, err := features.Features(ctx)
	if err != nil {
		return nil, err.Error()
	}
	if err := CheckFeatures(f); err != nil {
		return nil, err.Error()
	}
	exe, err := FindDockerd(cfg.Dockerd, os.Getenv("ProgramFiles"), func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	})
	if err != nil {
		return nil, err.Error()
	}
	root := DataRoot(os.Getenv("ProgramData"))
	if err := SecureServiceDir(root); err != nil {
		return nil, err.Error()
	}
	if err := prepareDataRoot(root); err != nil {
		return nil, err.Error()
	}
	return &Supervisor{Start: ExecStarter(exe, EngineArgs(root, cfg.Principal)...), Log: elog, Dockerd: exe}, ""
}

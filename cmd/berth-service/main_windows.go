// Command berth-service is Berth's optional elevated Windows service
// (package winservice): the Windows containers engine, the Hyper-V
// machine, and the Windows features, for the installing user or group
// only. The per-machine installer registers it with its command line:
//
//	berth-service.exe -principal <user or group> [-dockerd <path to dockerd.exe>]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"golang.org/x/sys/windows/svc"

	"github.com/berth-dev/berth/winservice"
)

const serviceName = "berth-service"

func main() {
	var cfg winservice.Config
	flag.StringVar(&cfg.Principal, "principal", "", "the user or group (account name) the service serves")
	flag.StringVar(&cfg.Dockerd, "dockerd", "", "dockerd.exe to run (default: an installed one, found)")
	flag.Parse()
	if cfg.Principal == "" {
		fmt.Fprintln(os.Stderr, "berth-service: -principal is required (the user or group it serves)")
		os.Exit(2)
	}
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		fmt.Fprintln(os.Stderr, "berth-service runs as a Windows service, installed by Berth's per-machine package")
		os.Exit(2)
	}
	cfg.HyperV, err = hyperVManager()
	if err != nil {
		cfg.HyperV = noHyperV{fmt.Errorf("berth-service has no Hyper-V machines: %w", err)}
	}
	if err := svc.Run(serviceName, &handler{cfg: cfg}); err != nil {
		os.Exit(1)
	}
}

type handler struct{ cfg winservice.Config }

// Execute runs the service until the service manager stops it.
func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- winservice.Run(ctx, h.cfg) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			cancel()
			if err != nil {
				return true, 1
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				if err := <-done; err != nil {
					return true, 1
				}
				return false, 0
			}
		}
	}
}

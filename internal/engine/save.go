package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// A machine whose VM is saved at stop keeps its engine running in the
// saved VM; the containers are stopped first, as the engine's own shutdown
// would stop them, and the ones the engine would start again at its next
// start are started after the restore. StopForSave and StartAgain are
// those two halves.

// Resume is the containers to start again after a saved VM is restored.
type Resume struct {
	IDs []string `json:"ids"`
}

// StopForSave stops every running container (in parallel, each with its
// own stop timeout, as the engine's shutdown does) and says which
// containers the engine would have started at its next start: see
// startsAgain. Whether a container runs is read from its inspect, the
// engine's live state: the list is a view of it that may lag an exit (a
// container stopped by hand a moment before would pass for one the save
// stopped, and start again after the restore).
func (c *Client) StopForSave(ctx context.Context) (Resume, error) {
	res, err := c.c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return Resume{}, fmt.Errorf("listing containers: %w", err)
	}
	// Each container as inspected before the stop; the ones that ran are
	// inspected again after it.
	var found []container.InspectResponse
	running := map[string]bool{}
	for _, s := range res.Items {
		in, err := c.c.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil {
			if isNoSuchContainer(err) {
				continue // removed since the list
			}
			return Resume{}, fmt.Errorf("inspecting container %s: %w", s.ID, err)
		}
		found = append(found, in.Container)
		if st := in.Container.State; st != nil && (st.Running || st.Paused || st.Restarting) {
			running[s.ID] = true
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for id := range running {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Stop(ctx, id); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Resume{}, err
	}
	var r Resume
	for _, ctr := range found {
		if running[ctr.ID] {
			in, err := c.c.ContainerInspect(ctx, ctr.ID, client.ContainerInspectOptions{})
			if err != nil {
				if isNoSuchContainer(err) {
					continue // --rm: removed when it stopped
				}
				return Resume{}, fmt.Errorf("inspecting container %s: %w", ctr.ID, err)
			}
			ctr = in.Container
		}
		if startsAgain(policyOf(ctr), running[ctr.ID], ctr.State) {
			r.IDs = append(r.IDs, ctr.ID)
		}
	}
	return r, nil
}

func isNoSuchContainer(err error) bool {
	return cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "No such container")
}

func policyOf(in container.InspectResponse) container.RestartPolicyMode {
	if in.HostConfig == nil {
		return container.RestartPolicyDisabled
	}
	return in.HostConfig.RestartPolicy.Name
}

// startsAgain is what the engine decides at its start for a container that
// is not running: "always" starts one that ran before (stopped by hand or
// not), "unless-stopped" one that the stop for the save stopped (it was
// running: not stopped by hand), "on-failure" one whose last exit was not
// zero. A container that never started stays as it is.
func startsAgain(policy container.RestartPolicyMode, stoppedForSave bool, st *container.State) bool {
	if st == nil || st.Running || st.StartedAt == "" || strings.HasPrefix(st.StartedAt, "0001-") {
		return false
	}
	switch policy {
	case container.RestartPolicyAlways:
		return true
	case container.RestartPolicyUnlessStopped:
		return stoppedForSave
	case container.RestartPolicyOnFailure:
		return st.ExitCode != 0
	}
	return false
}

// StartAgain starts the containers of r that exist and do not run; it
// returns the errors of those that would not start.
func (c *Client) StartAgain(ctx context.Context, r Resume) error {
	var errs []error
	for _, id := range r.IDs {
		in, err := c.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			continue // removed since
		}
		if in.Container.State != nil && in.Container.State.Running {
			continue
		}
		if _, err := c.c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("starting container %s again: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

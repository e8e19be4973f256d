package hostagent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/berth-dev/berth/hostagent/bridge"
	"github.com/berth-dev/berth/hostagent/vnet"
)

// serveMetrics exposes the engine's Prometheus endpoint on host loopback
// only; it returns a function that closes the listener and its connections.
func serveMetrics(port int, network *vnet.Network, waker bridge.Waker, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
	if err != nil {
		return nil, fmt.Errorf("engine.metricsPort %d: %w", port, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	br := bridge.New(func(ctx context.Context) (net.Conn, error) {
		return network.DialGuest(ctx, guestMetricsPort)
	}, log)
	if waker != nil { // a scrape resumes a paused VM
		br.WithWaker(waker)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := br.Serve(ctx, ln); err != nil {
			log.Warn("metrics forward stopped", "err", err)
		}
	}()
	log.Info("engine metrics on host loopback", "addr", ln.Addr().String())
	return func() { cancel(); wg.Wait() }, nil
}

package hostagent

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/berth-dev/berth/internal/sockets"
)

// listenFunc creates an owner-only endpoint: sockets.Listen, or a fake.
type listenFunc func(path string) (net.Listener, error)

// dockerListeners opens the machine's docker socket (own), and Docker's
// default endpoint (dflt, "" for none) as well when nobody serves it, so
// that the docker CLI's default context reaches the engine with no setup.
// Only own failing is an error: a default endpoint held by Docker Desktop,
// dockerd or another machine's agent is left to it and said in the log.
func dockerListeners(own, dflt string, listen listenFunc, log *slog.Logger) ([]net.Listener, error) {
	ln, err := listen(own)
	if err != nil {
		return nil, fmt.Errorf("docker socket: %w", err)
	}
	lns := []net.Listener{ln}
	if dflt == "" {
		return lns, nil
	}
	d, err := listen(dflt)
	if serve, why := serveDefault(err); serve {
		log.Info("docker's default endpoint served too", "endpoint", dflt)
		lns = append(lns, d)
	} else {
		log.Info("docker's default endpoint not served", "endpoint", dflt, "reason", why)
	}
	return lns, nil
}

// serveDefault decides from Listen's answer on the default endpoint whether
// to serve it, and if not, why.
func serveDefault(err error) (bool, string) {
	switch {
	case err == nil:
		return true, ""
	case errors.Is(err, sockets.ErrInUse):
		return false, "another server holds it (Docker Desktop, dockerd or another Berth machine): " + err.Error()
	default:
		return false, err.Error()
	}
}

//go:build windows

package hostagent

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/Microsoft/go-winio"

	"github.com/berth-dev/berth/internal/sockets"
	"github.com/berth-dev/berth/store"
)

// TestDockerListenersPipes opens the agent's docker pipes with the real
// sockets.Listen: Docker's default pipe is served too when free, and left
// to its holder (another listener in this test) when not, the machine's
// own pipe being served either way.
func TestDockerListenersPipes(t *testing.T) {
	if _, err := winio.DialPipe(store.DockerEnginePipe, ptr(time.Second)); err == nil {
		t.Skipf("%s is served here already (Docker?)", store.DockerEnginePipe)
	}
	sid, err := sockets.UserSID()
	if err != nil {
		t.Fatal(err)
	}
	own := store.PipeName(fmt.Sprintf("pipetest-%d", os.Getpid()), "docker", sid)
	log := slog.New(slog.DiscardHandler)

	lns, err := dockerListeners(own, store.DockerEnginePipe, sockets.Listen, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(lns) != 2 || lns[1].Addr().String() != store.DockerEnginePipe {
		t.Fatalf("free %s: listeners %v, want the own pipe and it", store.DockerEnginePipe, addrs(lns))
	}
	closeAll(lns)

	holder, err := winio.ListenPipe(store.DockerEnginePipe, &winio.PipeConfig{MessageMode: true})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	lns, err = dockerListeners(own, store.DockerEnginePipe, sockets.Listen, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(lns)
	if len(lns) != 1 || lns[0].Addr().String() != own {
		t.Fatalf("held %s: listeners %v, want the own pipe only", store.DockerEnginePipe, addrs(lns))
	}
}

func ptr[T any](v T) *T { return &v }

func addrs(lns []net.Listener) []string {
	var s []string
	for _, l := range lns {
		s = append(s, l.Addr().String())
	}
	return s
}

func closeAll(lns []net.Listener) {
	for _, l := range lns {
		l.Close()
	}
}

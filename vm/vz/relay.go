//go:build !windows

package vz

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// vfkitMagic is the vfkit handshake: the first datagram a peer sends to a
// listening unixgram socket, which tells the listener the peer's address
// (gvisor-tap-vsock v0.8.9, pkg/transport/unixgram_unix.go: peekAddress
// consumes it; vfkit sends it when it connects).
var vfkitMagic = []byte("VFKT")

// maxFrame is the largest datagram the relay carries: an Ethernet frame of
// the largest MTU vz accepts (65535) with its header, rounded up.
const maxFrame = 1 << 17

// sendTimeout bounds one datagram to the agent: a peer that does not read
// loses frames, as on a wire, rather than stalling the VM's card.
const sendTimeout = 100 * time.Millisecond

// relay carries frames between the VM's end of the card's socket pair and
// the agent, which joins on the listening socket with the vfkit handshake.
// The agent binds an address of its own, so the relay can answer it; a new
// agent's handshake replaces the old peer, so an agent that restarts
// joins the running VM again. Frames from any other address are dropped.
type relay struct {
	vm    *net.UnixConn // the helper's end of the socket pair
	agent *net.UnixConn // bound at the machine's network socket
	log   *slog.Logger

	mu   sync.Mutex
	peer *net.UnixAddr // the agent, once it has said hello

	closeOnce sync.Once
}

func newRelay(vmEnd, agentSide *net.UnixConn, log *slog.Logger) *relay {
	return &relay{vm: vmEnd, agent: agentSide, log: log}
}

// run relays until close.
func (r *relay) run() {
	var wg sync.WaitGroup
	wg.Go(r.fromAgent)
	wg.Go(r.toAgent)
	wg.Wait()
}

func (r *relay) close() {
	r.closeOnce.Do(func() {
		_ = r.vm.Close()
		_ = r.agent.Close()
	})
}

func (r *relay) currentPeer() *net.UnixAddr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peer
}

// fromAgent hands the agent's frames to the VM, and learns the agent's
// address from its handshake.
func (r *relay) fromAgent() {
	buf := make([]byte, maxFrame)
	for {
		n, from, err := r.agent.ReadFromUnix(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || from == nil || from.Name == "" {
			continue // an unnamed sender cannot be answered
		}
		if bytes.Equal(buf[:n], vfkitMagic) {
			r.mu.Lock()
			old := r.peer
			r.peer = &net.UnixAddr{Name: from.Name, Net: "unixgram"}
			r.mu.Unlock()
			if addrName(old) != from.Name { // the agent repeats its hello
				r.log.Info("network: the agent joined", "peer", from.Name, "replaces", addrName(old))
			}
			continue
		}
		peer := r.currentPeer()
		if peer == nil || peer.Name != from.Name {
			continue // not the agent that said hello
		}
		if _, err := r.vm.Write(buf[:n]); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// toAgent hands the VM's frames to the agent; without one they are lost,
// as on an unplugged wire.
func (r *relay) toAgent() {
	buf := make([]byte, maxFrame)
	for {
		n, err := r.vm.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		peer := r.currentPeer()
		if peer == nil {
			continue
		}
		_ = r.agent.SetWriteDeadline(time.Now().Add(sendTimeout))
		_, err = r.agent.WriteToUnix(buf[:n], peer)
		switch {
		case errors.Is(err, net.ErrClosed):
			return
		case gone(err):
			// The agent died or left: wait for the next one's hello.
			r.mu.Lock()
			if r.peer == peer {
				r.peer = nil
			}
			r.mu.Unlock()
			r.log.Info("network: the agent left", "peer", peer.Name, "err", err)
		}
	}
}

// gone tells a send error that means nobody is bound at the peer's address.
func gone(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist)
}

func addrName(a *net.UnixAddr) string {
	if a == nil {
		return ""
	}
	return a.Name
}

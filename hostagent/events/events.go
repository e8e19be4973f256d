// Package events fans the host agent's events out to every follower of the
// control API's event stream. A slow follower loses events, never blocks the
// agent: it is cut off and reconnects to resync from the current status.
package events

import (
	"sync"
)

// Hub distributes values of type T.
type Hub[T any] struct {
	mu     sync.Mutex
	subs   map[chan T]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub[T any]() *Hub[T] { return &Hub[T]{subs: map[chan T]struct{}{}} }

// Subscribe returns a channel of future values and a function to leave.
// The channel is closed when the hub closes or the subscriber falls behind.
func (h *Hub[T]) Subscribe(buffer int) (<-chan T, func()) {
	ch := make(chan T, buffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Publish sends v to every subscriber without blocking.
func (h *Hub[T]) Publish(v T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- v:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Close ends every subscription.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

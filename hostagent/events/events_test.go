package events

import "testing"

func TestHub(t *testing.T) {
	h := NewHub[int]()
	a, leaveA := h.Subscribe(4)
	slow, _ := h.Subscribe(1)
	h.Publish(1)
	h.Publish(2) // slow falls behind here and is cut off
	if v := <-a; v != 1 {
		t.Fatalf("a got %d", v)
	}
	if v := <-a; v != 2 {
		t.Fatalf("a got %d", v)
	}
	if v, ok := <-slow; !ok || v != 1 {
		t.Fatalf("slow first value %d %v", v, ok)
	}
	if _, ok := <-slow; ok {
		t.Fatal("slow subscriber not cut off")
	}
	leaveA()
	leaveA() // twice is harmless
	if _, ok := <-a; ok {
		t.Fatal("a not closed after leaving")
	}
	b, _ := h.Subscribe(1)
	h.Close()
	if _, ok := <-b; ok {
		t.Fatal("b not closed by Close")
	}
	c, _ := h.Subscribe(1)
	if _, ok := <-c; ok {
		t.Fatal("subscription after Close is open")
	}
	h.Publish(3) // no panic on a closed hub
}

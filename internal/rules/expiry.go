package rules

import "container/heap"

// expiries is a min-heap of holds by ExpiresAt, so that applying every due
// expiry costs O(log n) per expired hold and nothing when none is due.
// Confirmed and cancelled holds are not removed; they are skipped when they
// reach the top (lazy deletion), which keeps confirm and cancel O(1). The heap
// therefore holds at most the holds made in the last TTL.
//
// Its Sale's owner serializes calls.
type expiries []*hold

func (h expiries) Len() int           { return len(h) }
func (h expiries) Less(i, j int) bool { return h[i].expiresAt.Before(h[j].expiresAt) }
func (h expiries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiries) Push(x any)        { *h = append(*h, x.(*hold)) }
func (h *expiries) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

func (h *expiries) push(x *hold) { heap.Push(h, x) }
func (h *expiries) pop() *hold   { return heap.Pop(h).(*hold) }
func (h expiries) peek() *hold   { return h[0] }

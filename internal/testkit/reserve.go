package testkit

import "github.com/flashsale/flashsale/generated"

// Waitlisted is a reserve's 202 when it is a place in line, else nil (a
// hold, a refusal, or a place in a scheduled sale's pre-queue).
func Waitlisted(r *generated.ReserveResponse) *generated.Waitlisted {
	if r == nil || r.JSON202 == nil {
		return nil
	}
	if d, err := r.JSON202.Discriminator(); err != nil || d != string(generated.WaitlistedStatusWaiting) {
		return nil
	}
	w, err := r.JSON202.AsWaitlisted()
	if err != nil {
		return nil
	}
	return &w
}

// Queued is a reserve's 202 when it is a place in the pre-queue, else nil.
func Queued(r *generated.ReserveResponse) *generated.Queued {
	if r == nil || r.JSON202 == nil {
		return nil
	}
	if d, err := r.JSON202.Discriminator(); err != nil || d != string(generated.QueuedStatusQueued) {
		return nil
	}
	q, err := r.JSON202.AsQueued()
	if err != nil {
		return nil
	}
	return &q
}

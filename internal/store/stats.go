package store

import (
	"sync/atomic"
	"time"
)

// Stats counts the writer's work since the store opened.
type Stats struct {
	Batches    uint64        // batches committed
	Calls      uint64        // calls decided in them
	Events     uint64        // events committed
	CommitTime time.Duration // spent beginning, deciding and committing them
	Failures   uint64        // journal failures
	MaxBatch   uint64        // the most calls in one batch
	Queued     int           // calls waiting for the writer now
	// With a shared journal: events other servers committed that this one
	// applied, and the catch-up rounds it ran (one per crowd of reads).
	Followed uint64
	Rounds   uint64
	// Replays is how many keyed calls were answered with a kept answer.
	Replays uint64
}

// Stats reads the counters.
func (s *Store) Stats() Stats {
	st := s.stats.read()
	st.Queued = len(s.queue)
	return st
}

type counters struct {
	batches, calls, events, nanos, failures, max atomic.Uint64
	followed, rounds, replays                    atomic.Uint64
}

func (c *counters) batch(calls, events int, d time.Duration) {
	c.batches.Add(1)
	c.calls.Add(uint64(calls))
	c.events.Add(uint64(events))
	c.nanos.Add(uint64(d))
	for m := c.max.Load(); uint64(calls) > m && !c.max.CompareAndSwap(m, uint64(calls)); m = c.max.Load() {
	}
}

func (c *counters) read() Stats {
	return Stats{
		Batches:    c.batches.Load(),
		Calls:      c.calls.Load(),
		Events:     c.events.Load(),
		CommitTime: time.Duration(c.nanos.Load()),
		Failures:   c.failures.Load(),
		MaxBatch:   c.max.Load(),
		Followed:   c.followed.Load(),
		Rounds:     c.rounds.Load(),
		Replays:    c.replays.Load(),
	}
}

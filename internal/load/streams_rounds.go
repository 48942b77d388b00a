package load

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// streamsServer is what the rounds ask of the server process (a *Child): its
// CPU, and why a stream broke if it died. A test stands in for it.
type streamsServer interface {
	CPU() (time.Duration, bool)
	Explain(error) error
}

// queue is where the bench expects each stream's user to stand.
type queue struct {
	users  []string
	pos    []int64 // waitlist position; 0 once promoted
	holder int     // the stream whose user holds the unit; -1 for the holder without a stream
	holdID string
}

// holderName is the user who holds the unit, whose token cancels it.
func (q *queue) holderName() string {
	if q.holder < 0 {
		return holderUser
	}
	return q.users[q.holder]
}

// roundResult is one move of the line as the streams saw it. Times are from
// t0, the moment before the cancel was sent.
type roundResult struct {
	n                 int
	moved             int // streams that got promoted or position
	last, median, p99 time.Duration
	cancelRTT         time.Duration // the cancel request's own round trip
	cpu               time.Duration // the server's, from t0 to the last event
	cpuOK             bool
}

// Event names the rounds expect.
const (
	evPromoted  = "promoted"
	evPosition  = "position"
	evCancelled = "cancelled"
)

// playRound cancels the current hold, which moves the line by one, and
// waits until every stream concerned has its one event: the head promoted,
// everyone else waiting a position one nearer, and a previous holder with a
// stream cancelled. Any other event, a wrong position or a stream left
// without its event after timeout is an error.
func playRound(ctx context.Context, a *streamsAPI, srv streamsServer, q *queue, arrivals <-chan arrival, n int, timeout time.Duration) (roundResult, error) {
	res := roundResult{n: n}
	want := make([]string, len(q.pos))
	remaining := 0
	for i, p := range q.pos {
		switch {
		case p == 1:
			want[i] = evPromoted
		case p > 1:
			want[i] = evPosition
		default:
			continue
		}
		remaining++
	}
	if q.holder >= 0 {
		want[q.holder] = evCancelled
		remaining++
	}
	delays := make([]time.Duration, 0, remaining)
	newHolder, newHoldID := -1, ""

	cpu0, ok0 := srv.CPU()
	t0 := time.Now()
	if err := a.cancel(ctx, q.holderName(), q.holdID); err != nil {
		return res, srv.Explain(fmt.Errorf("round %d: %w", n, err))
	}
	res.cancelRTT = time.Since(t0)

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for remaining > 0 {
		select {
		case ev := <-arrivals:
			if ev.err != nil {
				return res, srv.Explain(fmt.Errorf("round %d: %w", n, ev.err))
			}
			i := ev.stream
			if err := checkMove(ev, q.users[i], want[i], q.pos[i]); err != nil {
				return res, fmt.Errorf("round %d: %w", n, err)
			}
			if want[i] == evPromoted {
				newHolder, newHoldID = i, ev.state.reservationID()
			}
			if want[i] != evCancelled {
				delays = append(delays, ev.at.Sub(t0))
			}
			want[i] = ""
			remaining--
		case <-deadline.C:
			return res, srv.Explain(missed(n, remaining, timeout, q, want))
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	cpu1, ok1 := srv.CPU()
	res.cpu, res.cpuOK = cpu1-cpu0, ok0 && ok1

	for i, p := range q.pos {
		if p > 0 {
			q.pos[i] = p - 1
		}
	}
	q.holder, q.holdID = newHolder, newHoldID
	slices.Sort(delays)
	res.moved = len(delays)
	res.last, res.median, res.p99 = delays[len(delays)-1], percentile(delays, 50), percentile(delays, 99)
	return res, nil
}

// checkMove checks one round's event against what the stream should get; a
// stream that should get nothing (want "") got one too many.
func checkMove(ev arrival, user, want string, pos int64) error {
	st := ev.state
	got := fmt.Sprintf("%q (state %s, waitlist_position %d)", ev.name, st.State, st.WaitlistPosition)
	switch {
	case want == "":
		return fmt.Errorf("user %s got event %s, more than its one event of the round", user, got)
	case ev.name != want:
		return fmt.Errorf("user %s at position %d got event %s, want %q", user, pos, got, want)
	case st.UserID != user:
		return fmt.Errorf("user %s got event %s for user %q", user, got, st.UserID)
	case want == evPromoted && (st.State != "held" || st.reservationID() == ""):
		return fmt.Errorf("user %s got event %s with reservation_id %q, want state held and a reservation_id", user, got, st.reservationID())
	case want == evPosition && (st.State != "waiting" || st.WaitlistPosition != pos-1):
		return fmt.Errorf("user %s at position %d got event %s, want state waiting at %d", user, pos, got, pos-1)
	}
	return nil
}

// missed says how many streams got no event, naming the first.
func missed(n, remaining int, timeout time.Duration, q *queue, want []string) error {
	for i, w := range want {
		if w != "" {
			return fmt.Errorf("round %d: %d stream(s) missed their event within %s, among them user %s (position %d) waiting for %q",
				n, remaining, timeout, q.users[i], q.pos[i], w)
		}
	}
	return fmt.Errorf("round %d: %d stream(s) missed their event within %s", n, remaining, timeout)
}

// quiet waits d and fails on any event meanwhile: after a round no stream
// should hear anything until the next cancel (heartbeats are comments and
// never arrive here). It also spaces the rounds beyond the server's 500 ms
// coalescing of position events, so that each round's is sent at once.
func quiet(ctx context.Context, srv streamsServer, q *queue, arrivals <-chan arrival, n int, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case ev := <-arrivals:
			if ev.err != nil {
				return srv.Explain(fmt.Errorf("after round %d: %w", n, ev.err))
			}
			return fmt.Errorf("after round %d: %w", n, checkMove(ev, q.users[ev.stream], "", 0))
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// percentile is the nearest-rank p-th percentile of sorted ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	k := (len(ds)*p + 99) / 100 // ceil(len·p/100), the rank from 1
	return ds[max(k, 1)-1]
}

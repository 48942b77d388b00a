package live

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Stream is one client's view of one user, as a sequence of Messages.
// One goroutine at a time reads it, with Next (the client's request) or,
// once the hub's writers serve it, Poll (its writer); the hub only wakes
// it, never blocking on it, so a client that does not read holds up
// nobody but itself.
type Stream struct {
	hub  *Hub
	user string
	// woken holds one wake-up at most: several events about the user
	// before the stream reads are one read.
	woken chan struct{}

	started bool
	last    sale.UserState // the state last sent
	moved   chan struct{}  // the line-moved channel as of the last read
	nextPos time.Time      // no position event before this (Coalesce)
	held    bool           // a position event is held back until nextPos
	sentAt  time.Time      // when the last message was made: the heartbeat counts from it

	// onWake, guarded by Hub.mu, tells the stream's writer that it was
	// woken; nil while a request's goroutine reads it with Next.
	onWake func()
}

// Message is one thing to send: an event about the user, or, with Event
// empty, a heartbeat.
type Message struct {
	// Event names what changed: "state" first, then "queued", "drawn",
	// "joined", "position", "held", "promoted", "confirmed", "cancelled",
	// "expired", "left", "closed", "reset".
	Event string
	// ID is the newest event of the sale that State includes.
	ID    uint64
	State sale.UserState
	// Wait is set while State is waiting.
	Wait Estimate
}

// Open starts a stream for user, or refuses it with ErrFull, ErrUserFull or
// ErrClosed. The caller must Close it.
func (h *Hub) Open(user string) (*Stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case h.open >= h.maxStreams:
		h.refusedFull.Add(1)
		return nil, fmt.Errorf("%w (%d)", ErrFull, h.maxStreams)
	case len(h.users[user]) >= h.maxPerUser:
		h.refusedUser.Add(1)
		return nil, fmt.Errorf("user %s: %w (%d)", user, ErrUserFull, h.maxPerUser)
	}
	s := &Stream{hub: h, user: user, woken: make(chan struct{}, 1)}
	h.users[user] = append(h.users[user], s)
	h.open++
	return s, nil
}

// wake is the hub's side: it never blocks, and a wake-up already waiting
// stands for this one too.
func (s *Stream) wake() {
	select {
	case s.woken <- struct{}{}:
	default:
	}
	if s.onWake != nil {
		s.onWake()
	}
}

// Close ends the stream's registration with the hub.
func (s *Stream) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	streams := h.users[s.user]
	i := slices.Index(streams, s)
	if i < 0 {
		return // closed before
	}
	if len(streams) == 1 {
		delete(h.users, s.user)
	} else {
		h.users[s.user] = slices.Delete(streams, i, i+1)
	}
	h.open--
}

// Next waits for the next message: the user's state at once on the first
// call, then each change, or a heartbeat after Heartbeat of silence. It
// returns ErrClosed when the hub closes, ctx's error when ctx ends, and
// the store's error if reading the state fails.
func (s *Stream) Next(ctx context.Context) (Message, error) {
	if !s.started {
		s.started = true
		m, _, err := s.read(ctx, true)
		return m, err
	}
	clock := s.hub.clock
	heartbeat := clock.After(Heartbeat)
	var release <-chan time.Time // the end of Coalesce, while a position is held back
	for {
		var moved <-chan struct{}
		if s.last.State == sale.Waiting && !s.held {
			moved = s.moved
		}
		if s.held && release == nil {
			release = clock.After(s.nextPos.Sub(clock.Now()))
		}
		select {
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-s.hub.done:
			return Message{}, ErrClosed
		case <-heartbeat:
			s.sentAt = clock.Now()
			return Message{}, nil
		case <-s.woken:
		case <-moved:
		case <-release:
			release = nil
		}
		if m, ok, err := s.read(ctx, false); ok || err != nil {
			return m, err
		}
	}
}

// read reads the user's state and says whether it is news, and which.
func (s *Stream) read(ctx context.Context, first bool) (Message, bool, error) {
	h := s.hub
	// Taken before the read, so that a move after the read, which the
	// state does not show, wakes the stream again.
	s.moved = h.movedNow()
	st, err := h.user(ctx, s.user, first)
	if err != nil {
		return Message{}, false, fmt.Errorf("read user %s: %w", s.user, err)
	}
	event := "state"
	if !first {
		event = change(s.last, st)
	}
	switch event {
	case "":
		return Message{}, false, nil
	case "position":
		now := h.clock.Now()
		if now.Before(s.nextPos) {
			s.held = true
			return Message{}, false, nil
		}
		s.nextPos = now.Add(Coalesce)
	}
	s.held = false
	s.sentAt = h.clock.Now()
	s.last = st
	m := Message{Event: event, ID: st.Seq, State: st}
	if st.State == sale.Waiting {
		m.Wait = h.EstimatedWait(st.Position)
	}
	return m, true, nil
}

// change names what happened between two states of one user, or "" for
// nothing worth an event.
func change(prev, next sale.UserState) string {
	if prev.Sale != next.Sale {
		return "reset"
	}
	if next.Phase == sale.PhaseClosed && prev.Phase != sale.PhaseClosed {
		return "closed"
	}
	if prev.State == sale.Queued && (next.State == sale.Waiting || next.State == sale.Holding) {
		return "drawn"
	}
	switch next.State {
	case sale.Queued:
		if prev.State != sale.Queued || !prev.OpensAt.Equal(next.OpensAt) {
			return "queued"
		}
	case sale.Waiting:
		switch {
		case prev.State != sale.Waiting:
			return "joined"
		case prev.Position != next.Position:
			return "position"
		}
	case sale.Holding:
		switch {
		case prev.State == sale.Waiting:
			return "promoted"
		case prev.State != sale.Holding || !sameHold(prev.Reservation, next.Reservation):
			return "held"
		}
	case sale.Bought:
		if prev.State != sale.Bought || !sameHold(prev.Reservation, next.Reservation) {
			return "confirmed"
		}
	case sale.None:
		switch r := next.Reservation; {
		case r != nil && !sameHold(prev.Reservation, r):
			return string(r.Status) // expired or cancelled
		case prev.State == sale.Waiting || prev.State == sale.Queued:
			return "left"
		}
	}
	return ""
}

// sameHold reports whether a and b are the same reservation in the same
// status.
func sameHold(a, b *sale.Reservation) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.ID == b.ID && a.Status == b.Status
}

// asOfReader is a store that can answer a read that need only include an
// event it handed out (store.Store): a store shared by servers otherwise
// asks the database for its newest event on every read, a round trip for
// each stream at each move where one goroutine per stream used to share
// one.
type asOfReader interface {
	UserAsOf(ctx context.Context, userID string, seq uint64) (sale.UserState, error)
}

// user reads user's state for a stream. A stream's first read includes
// every change made before it, on any server (a shopper who just reserved
// elsewhere sees it); a later one, made because the feed woke the stream,
// need only include what the feed has told the hub.
func (h *Hub) user(ctx context.Context, user string, first bool) (sale.UserState, error) {
	if r, ok := h.store.(asOfReader); ok && !first {
		return r.UserAsOf(ctx, user, h.heard.Load())
	}
	return h.store.User(ctx, user)
}

package model_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/flashsale/flashsale/internal/clocktest"
	"github.com/flashsale/flashsale/internal/model"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
)

// The tests in this file are the minimal histories behind failures that
// the random linearizability test found in the in-memory store, replayed
// deterministically so that they fail every time until the store is fixed.

// tickingClock is a fake clock that, once armed, moves one second forward
// right after the next reading: time passing in the middle of a call, as a
// real clock's does.
type tickingClock struct {
	*clocktest.Clock
	armed atomic.Bool
}

func (c *tickingClock) Now() time.Time {
	now := c.Clock.Now()
	if c.armed.CompareAndSwap(true, false) {
		c.Clock.Advance(time.Second)
	}
	return now
}

// script records sequential calls on a store as a porcupine history.
type script struct {
	t     *testing.T
	store sale.Store
	seq   int64
	ops   []porcupine.Operation
}

func (s *script) call(in model.Input) model.Output {
	s.seq++
	call := s.seq
	out := model.Apply(context.Background(), s.store, in)
	s.seq++
	s.ops = append(s.ops, porcupine.Operation{Input: in, Output: out, Call: call, Return: s.seq})
	return out
}

// clock records a clock move that took place at [call, ret].
func (s *script) clock(now time.Time, call, ret int64) {
	s.ops = append(s.ops, porcupine.Operation{Input: model.Input{Kind: model.OpClock, Now: now}, Output: model.Output{}, Call: call, Return: ret})
}

func (s *script) check() {
	s.t.Helper()
	checker := model.Checker(start, ttl)
	if res, info := porcupine.CheckOperationsVerbose(checker, s.ops, conformance.CheckTimeout); res != porcupine.Ok {
		s.t.Errorf("history is %s:\n%s", res, conformance.DescribeFailure(checker, s.ops, info))
	}
}

// TestStoreCancelTakesEffectAtOneInstant: a cancel that hands the unit to the
// next in line must do both at one instant. Here the clock moves from 2s to
// 3s during the call, and the cancelled hold expires at 3s. Cancelled at 2s,
// the next user's hold must be created at 2s; at 3s, the cancel must fail as
// expired. Found as seed 11820 of TestStoreLinearizable.
func TestStoreCancelTakesEffectAtOneInstant(t *testing.T) {
	clock := &tickingClock{Clock: clocktest.New(start)}
	s := &script{t: t, store: newMemStore(t, clock)}
	s.call(model.Input{Kind: model.OpInitialize, Total: 1})
	hold := s.call(model.Input{Kind: model.OpReserve, User: "alice"}).Reservation
	s.call(model.Input{Kind: model.OpReserve, User: "bob"})
	s.seq++
	s.clock(clock.Advance(ttl-time.Second), s.seq, s.seq)

	clock.armed.Store(true)
	s.call(model.Input{Kind: model.OpCancel, ID: hold.ID})
	if clock.armed.Load() {
		t.Fatal("cancel did not read the clock")
	}
	// The clock moved during the cancel: record the move as concurrent with it.
	cancel := s.ops[len(s.ops)-1]
	s.clock(clock.Now(), cancel.Call, cancel.Return)
	s.call(model.Input{Kind: model.OpUser, User: "bob"})
	s.check()
}

// TestStoreNotFoundAppliesExpiry: every call first applies the expiries due
// (sale.Store's contract), including one that answers "not found". Otherwise
// the next user's hold dates from whichever later call applies them, and
// Expire reports expiries that an earlier call should have applied.
func TestStoreNotFoundAppliesExpiry(t *testing.T) {
	clock := clocktest.New(start)
	s := &script{t: t, store: newMemStore(t, clock)}
	s.call(model.Input{Kind: model.OpInitialize, Total: 1})
	s.call(model.Input{Kind: model.OpReserve, User: "alice"})
	s.call(model.Input{Kind: model.OpReserve, User: "bob"})
	s.seq++
	s.clock(clock.Advance(ttl), s.seq, s.seq)
	s.call(model.Input{Kind: model.OpConfirm, ID: "AAAAAAAAAAAAAAAAAAAAAA"})
	s.seq++
	s.clock(clock.Advance(time.Second), s.seq, s.seq)
	s.call(model.Input{Kind: model.OpUser, User: "bob"})
	s.check()
}

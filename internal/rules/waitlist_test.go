package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// lineModel is the waitlist as the simplest thing that could work: a slice in
// line order. Like the store, it keeps each member's ticket in the account,
// so a waitlist that renumbers tickets when it compacts stays testable.
type lineModel struct {
	accts *accounts
	w     *waitlist
	order []ref
	last  uint64 // the newest ticket given, so tickets can be seen to grow
	made  int
}

// fataler is what the model needs from *testing.T and *rapid.T alike.
type fataler interface {
	Fatalf(format string, args ...any)
}

func newLineModel() *lineModel {
	accts := newAccounts()
	return &lineModel{accts: accts, w: newWaitlist(accts)}
}

func (m *lineModel) push(t fataler) {
	r := m.accts.add(fmt.Sprintf("u%d", m.made))
	m.made++
	ticket, pos := m.w.push(r)
	if pos != int64(len(m.order)+1) {
		t.Fatalf("push %s: position %d, want %d", m.accts.id(r), pos, len(m.order)+1)
	}
	if m.made > 1 && ticket <= m.last {
		t.Fatalf("push %s: ticket %d after ticket %d", m.accts.id(r), ticket, m.last)
	}
	if got := m.accts.get(r).ticket; got != ticket {
		t.Fatalf("push %s: the account holds ticket %d, push returned %d", m.accts.id(r), got, ticket)
	}
	m.last = ticket
	m.order = append(m.order, r)
}

func (m *lineModel) pop(t fataler) {
	got := m.w.pop()
	if len(m.order) == 0 {
		if got != 0 {
			t.Fatalf("pop of an empty line gave %s", m.accts.id(got))
		}
		return
	}
	if got != m.order[0] {
		t.Fatalf("pop gave account %d, want the head %s", got, m.accts.id(m.order[0]))
	}
	m.order = m.order[1:]
}

func (m *lineModel) remove(i int) {
	m.w.remove(m.accts.get(m.order[i]).ticket)
	m.order = slices.Delete(m.order, i, i+1)
}

// check compares the waitlist with the model: its length, and the position
// of every member (of every stride-th one, for long lines, plus both ends).
// It also checks that compaction keeps the served prefix short.
func (m *lineModel) check(t fataler, stride int) {
	if m.w.len() != len(m.order) {
		t.Fatalf("len %d, model %d", m.w.len(), len(m.order))
	}
	for i, r := range m.order {
		if i%stride != 0 && i != len(m.order)-1 {
			continue
		}
		if p := m.w.position(m.accts.get(r).ticket); p != int64(i+1) {
			t.Fatalf("%s at position %d, model says %d (line of %d)", m.accts.id(r), p, i+1, len(m.order))
		}
	}
	if m.w.head >= 1024 && m.w.head >= len(m.w.slots)/2 {
		t.Fatalf("served prefix of %d in %d slots was not compacted", m.w.head, len(m.w.slots))
	}
}

// TestWaitlistModel runs random pushes, pops and removes, single and in bulk
// (so that compaction happens), against the slice model.
func TestWaitlistModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newLineModel()
		stride := func() int { return 1 + len(m.order)/200 }
		t.Repeat(map[string]func(*rapid.T){
			"push": func(t *rapid.T) { m.push(t) },
			"pushMany": func(t *rapid.T) {
				for range rapid.IntRange(1, 3000).Draw(t, "n") {
					m.push(t)
				}
			},
			"pop": func(t *rapid.T) { m.pop(t) },
			"popMany": func(t *rapid.T) {
				for range rapid.IntRange(1, 3000).Draw(t, "n") {
					m.pop(t)
				}
			},
			"remove": func(t *rapid.T) {
				if len(m.order) == 0 {
					t.Skip("nobody to remove")
				}
				m.remove(rapid.IntRange(0, len(m.order)-1).Draw(t, "i"))
			},
			"removeMany": func(t *rapid.T) {
				if len(m.order) == 0 {
					t.Skip("nobody to remove")
				}
				for range rapid.IntRange(1, len(m.order)).Draw(t, "n") {
					m.remove(rapid.IntRange(0, len(m.order)-1).Draw(t, "i"))
				}
			},
			"": func(t *rapid.T) { m.check(t, stride()) },
		})
	})
}

// TestWaitlistCompaction walks one long line through several compactions and
// checks every position after each stage.
func TestWaitlistCompaction(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := newLineModel()
	for range 5000 {
		m.push(t)
	}
	m.check(t, 1)
	for range 3000 {
		m.pop(t)
	}
	if m.w.head != 0 && len(m.w.slots) > 2*len(m.order)+1024 {
		t.Fatalf("after 3000 of 5000 served: %d slots for a line of %d", len(m.w.slots), len(m.order))
	}
	m.check(t, 1)
	for range 700 {
		m.remove(rng.IntN(len(m.order)))
	}
	m.check(t, 1)
	for range 4000 {
		m.push(t)
	}
	for range 2500 {
		m.pop(t)
		if rng.IntN(3) == 0 {
			m.remove(rng.IntN(len(m.order)))
		}
	}
	m.check(t, 1)
	for len(m.order) > 0 {
		m.pop(t)
	}
	m.pop(t) // empty: none
	m.check(t, 1)
	// An emptied line starts again at position 1 with fresh tickets.
	m.push(t)
	m.push(t)
	m.check(t, 1)
}

// TestWaitlistMemoryFollowsLength: the line's memory must follow its length,
// not the number of joins ever, even when nobody is served (sold out, every
// unit confirmed) and people keep joining and leaving behind a head who stays.
// A bot that joins and leaves in a loop must not grow the store without bound.
func TestWaitlistMemoryFollowsLength(t *testing.T) {
	m := newLineModel()
	m.push(t) // the head, never served
	for range 100_000 {
		m.push(t)
		m.remove(len(m.order) - 1)
	}
	m.check(t, 1)
	if n := len(m.w.slots); n > 4096 {
		t.Errorf("a line of %d keeps %d slots after 100,000 joins and leaves", len(m.order), n)
	}
}

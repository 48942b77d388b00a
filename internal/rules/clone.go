package rules

import (
	"maps"
	"slices"

	"github.com/flashsale/flashsale/internal/sale"
)

// Clone returns a copy of the sale that shares nothing mutable with s, for
// a follower of the feed that must go on from s's state without the events
// that made it (a webhook deliverer whose events a memory store could no
// longer keep). Idempotency keys and decided events not taken are not
// copied: a copy only follows, through Apply.
func (s *Sale) Clone() *Sale {
	c := *s
	c.pending = nil
	c.keys = newKeyTable(s.keys.ttl, s.keys.max)
	copies := make(map[*hold]*hold, len(s.holds))
	dup := func(h *hold) *hold {
		if h == nil {
			return nil
		}
		if d, ok := copies[h]; ok {
			return d
		}
		d := *h
		copies[h] = &d
		return &d
	}
	c.holds = make(map[string]*hold, len(s.holds))
	for id, h := range s.holds {
		c.holds[id] = dup(h)
	}
	c.expiries = make(expiries, len(s.expiries))
	for i, h := range s.expiries {
		c.expiries[i] = dup(h)
	}
	c.accounts = s.accounts.clone(dup)
	c.line = s.line.clone(c.accounts)
	c.window = s.window.clone()
	return &c
}

func (t *accounts) clone(dup func(*hold) *hold) *accounts {
	c := *t
	c.list = slices.Clone(t.list)
	for i := range c.list {
		c.list[i].hold = dup(c.list[i].hold)
	}
	c.ids = slices.Clone(t.ids)
	c.byHash = maps.Clone(t.byHash)
	c.clash = maps.Clone(t.clash)
	return &c
}

func (w *waitlist) clone(accts *accounts) *waitlist {
	c := *w
	c.accts = accts
	c.slots = slices.Clone(w.slots)
	c.tree = slices.Clone(w.tree)
	return &c
}

func (w window) clone() window {
	c := w
	if w.keys != nil {
		c.keys = sale.NewDrawKeys(w.seed) // it keeps a running hash
	}
	c.pre.slots = slices.Clone(w.pre.slots)
	c.entrants = slices.Clone(w.entrants)
	return c
}

package rules

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/flashsale/flashsale/internal/sale"
)

// prequeue is everyone waiting for a scheduled sale's draw, in arrival
// order, each with the first 8 bytes of their draw key, computed as they
// join (it needs the seed, which the rules hold from the scheduling on). So
// the draw itself only sorts integers: a million entrants take a fraction
// of a second, while the lock every call of the sale waits on is held
// (docs/benchmarks.md). An account's ticket is its index here while it is
// Queued.
type prequeue struct {
	slots []entry // ref 0: left
	size  int
}

type entry struct {
	key uint64 // the draw key's first 8 bytes, big-endian
	r   ref
}

// push appends account r, whose draw key is key.
func (p *prequeue) push(accts *accounts, r ref, key []byte) {
	accts.get(r).ticket = uint64(len(p.slots))
	p.slots = append(p.slots, entry{key: binary.BigEndian.Uint64(key), r: r})
	p.size++
}

// remove takes the ticket's holder out. Leaving and joining in a loop
// cannot grow the slots: once half are empty, they are compacted.
func (p *prequeue) remove(accts *accounts, ticket uint64) {
	p.slots[ticket].r = 0
	p.size--
	if empty := len(p.slots) - p.size; empty < 1024 || empty < len(p.slots)/2 {
		return
	}
	live := make([]entry, 0, 2*p.size)
	for _, e := range p.slots {
		if e.r != 0 {
			accts.get(e.r).ticket = uint64(len(live))
			live = append(live, e)
		}
	}
	p.slots = live
}

// members returns the accounts in the pre-queue, in arrival order.
func (p *prequeue) members() []ref {
	refs := make([]ref, 0, p.size)
	for _, e := range p.slots {
		if e.r != 0 {
			refs = append(refs, e.r)
		}
	}
	return refs
}

// draw returns the members in drawn order: by draw key, as sale.DrawOrder
// orders them. The entries are sorted by the keys' first 8 bytes with a
// radix sort, which, unlike a comparison sort, takes the same few passes
// over a million entries whatever their keys (the lock every call waits on
// is held meanwhile); two keys equal in their first 8 bytes (one pair in
// about 2^64/n²) are then ordered by their full keys, and then by id,
// exactly as DrawOrder does.
func (p *prequeue) draw(accts *accounts, keys *sale.DrawKeys) []ref {
	live := make([]entry, 0, p.size)
	for _, e := range p.slots {
		if e.r != 0 {
			live = append(live, e)
		}
	}
	radixSort(live)
	for i := 0; i < len(live); {
		j := i + 1
		for j < len(live) && live[j].key == live[i].key {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(live[i:j], func(a, b entry) int {
				ua, ub := accts.id(a.r), accts.id(b.r)
				ka := append([]byte(nil), keys.Key(ua)...)
				return sale.CompareDrawn(ka, ua, keys.Key(ub), ub)
			})
		}
		i = j
	}
	refs := make([]ref, len(live))
	for i, e := range live {
		refs[i] = e.r
	}
	return refs
}

// smallDraw is the size below which a comparison sort beats the radix
// sort's fixed cost (four passes over 2^16 counters).
const smallDraw = 1 << 12

// radixSort sorts entries by key: a least-significant-digit radix sort, 16
// bits a pass, four passes. Its counters cost the same for ten entries as
// for a million, so a small pre-queue is sorted by comparison instead.
func radixSort(entries []entry) {
	if len(entries) < smallDraw {
		slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.key, b.key) })
		return
	}
	const bits, passes = 16, 4
	tmp := make([]entry, len(entries))
	src, dst := entries, tmp
	var counts [1 << bits]int
	for pass := range passes {
		shift := uint(pass * bits)
		clear(counts[:])
		for _, e := range src {
			counts[(e.key>>shift)&(1<<bits-1)]++
		}
		sum := 0
		for i, c := range counts {
			counts[i] = sum
			sum += c
		}
		for _, e := range src {
			d := (e.key >> shift) & (1<<bits - 1)
			dst[counts[d]] = e
			counts[d]++
		}
		src, dst = dst, src
	}
	// An even number of passes leaves the result in entries.
}

package memory

import (
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// keys is the journal's idempotency keys, bounded as a durable journal's
// are: a record is forgotten once its TTL has passed by the time of a newer
// one, and beyond max the oldest go first. Records come in the order they
// were made, which, every key living as long, is the order they expire in,
// so forgetting is popping the front.
type keys struct {
	ttl   time.Duration
	max   int
	byID  map[sale.KeyID]*sale.KeyRecord
	order []*sale.KeyRecord // oldest first, from head
	head  int
}

func newKeys(ttl time.Duration, max int) *keys {
	return &keys{ttl: ttl, max: max, byID: make(map[sale.KeyID]*sale.KeyRecord)}
}

// get returns the records kept for ids; the rules judge their expiry.
func (k *keys) get(ids []sale.KeyID) []sale.KeyRecord {
	var out []sale.KeyRecord
	for _, id := range ids {
		if r, ok := k.byID[id]; ok {
			out = append(out, *r)
		}
	}
	return out
}

// add keeps a copy of r (the store's slice of records is reused).
func (k *keys) add(r sale.KeyRecord) {
	for k.head < len(k.order) && !r.At.Before(k.order[k.head].At.Add(k.ttl)) {
		k.pop()
	}
	kept := new(sale.KeyRecord)
	*kept = r
	k.byID[r.ID] = kept
	k.order = append(k.order, kept)
	for len(k.order)-k.head > k.max {
		k.pop()
	}
}

func (k *keys) pop() {
	r := k.order[k.head]
	k.order[k.head] = nil
	k.head++
	if k.byID[r.ID] == r {
		delete(k.byID, r.ID)
	}
	// Reclaim the popped front once it is most of the slice: amortized O(1).
	if k.head > len(k.order)/2 {
		k.order = append(k.order[:0:0], k.order[k.head:]...)
		k.head = 0
	}
}

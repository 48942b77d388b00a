package store

import (
	"hash/maphash"
	"sync"
)

// shards splits each directory so that the map work of a request (hashing
// the key, growing the map, allocating the entry) happens under a lock that
// few other requests want, not under the sale lock.
const shards = 64

// directory maps keys (user ids, reservation ids) to entries. Each shard's
// lock guards only that shard's map; it is never held while another lock is
// taken, so it cannot take part in a deadlock.
type directory[T any] struct {
	seed   maphash.Seed
	shards [shards]struct {
		mu sync.Mutex
		m  map[string]*T
		_  [48]byte // keep neighbouring locks on separate cache lines
	}
}

func newDirectory[T any]() *directory[T] {
	d := &directory[T]{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].m = make(map[string]*T)
	}
	return d
}

func (d *directory[T]) shard(key string) int {
	return int(maphash.String(d.seed, key) % shards)
}

// get returns the entry for key, or nil.
func (d *directory[T]) get(key string) *T {
	sh := &d.shards[d.shard(key)]
	sh.mu.Lock()
	v := sh.m[key]
	sh.mu.Unlock()
	return v
}

// getOrPut returns the entry for key if keep approves of it, and otherwise
// stores and returns make().
func (d *directory[T]) getOrPut(key string, keep func(*T) bool, make func() *T) *T {
	sh := &d.shards[d.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v := sh.m[key]; v != nil && keep(v) {
		return v
	}
	v := make()
	sh.m[key] = v
	return v
}

// put stores v under key.
func (d *directory[T]) put(key string, v *T) {
	sh := &d.shards[d.shard(key)]
	sh.mu.Lock()
	sh.m[key] = v
	sh.mu.Unlock()
}

// deleteIf removes every entry for which drop is true, one shard at a time.
func (d *directory[T]) deleteIf(drop func(*T) bool) {
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			if drop(v) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

package shopper

import (
	"sync"
	"time"
)

// maxCached bounds the tokens a verifier remembers: each is a map entry of
// a few hundred bytes, so about 20 MiB at most.
const maxCached = 1 << 16

// cache remembers tokens verified, until each one's exp. When full it
// forgets everything at once, which keeps it bounded with no bookkeeping per
// entry; the tokens in use come back at one check each.
type cache struct {
	mu sync.Mutex
	m  map[string]Identity
}

func (c *cache) get(token string, now time.Time) (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.m[token]
	if !ok {
		return Identity{}, false
	}
	if !now.Before(id.Expires) {
		delete(c.m, token)
		return Identity{}, false
	}
	return id, true
}

func (c *cache) put(token string, id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]Identity)
	}
	c.m[token] = id
}

// forget drops every token, for keys that changed.
func (c *cache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

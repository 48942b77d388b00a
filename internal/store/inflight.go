package store

import (
	"sync"

	"github.com/flashsale/flashsale/internal/sale"
)

// inflight is the keys whose first attempt this process is running. A retry
// that arrives meanwhile is told so (sale.ErrKeyInFlight) instead of
// queueing behind it, as the IETF draft asks. It is a courtesy, not what
// makes a key's change happen once: that is the rules' lookup, made under
// the lock every change takes (the sale row's, across servers), so a retry
// that reaches another server, or this one just after the first attempt
// ended, gets the kept answer.
type inflight struct {
	mu   sync.Mutex
	keys map[sale.KeyID]struct{}
}

// begin reports whether id was free, and takes it if so.
func (f *inflight) begin(id sale.KeyID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.keys[id]; busy {
		return false
	}
	if f.keys == nil {
		f.keys = make(map[sale.KeyID]struct{})
	}
	f.keys[id] = struct{}{}
	return true
}

func (f *inflight) end(id sale.KeyID) {
	f.mu.Lock()
	delete(f.keys, id)
	f.mu.Unlock()
}

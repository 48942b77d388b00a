package memory

import (
	"bytes"
	"context"
	"sync"
)

// signingKeys is the memory journal's keyring. A memory store is one
// server, so its map is every server's; it has a lock of its own because
// the store asks for keys from any goroutine, not only its writer's.
type signingKeys struct {
	mu   sync.Mutex
	byID map[string][]byte
}

// SigningKey implements store.Journal: the first secret given for id is
// kept, a copy, since the caller may reuse or clear its own.
func (j *journal) SigningKey(_ context.Context, id string, fresh []byte) ([]byte, error) {
	k := &j.signingKeys
	k.mu.Lock()
	defer k.mu.Unlock()
	if secret, ok := k.byID[id]; ok {
		return secret, nil
	}
	if k.byID == nil {
		k.byID = make(map[string][]byte)
	}
	secret := bytes.Clone(fresh)
	k.byID[id] = secret
	return secret, nil
}

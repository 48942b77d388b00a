package sale

import "context"

// Keyring keeps the secrets that sign shoppers' tokens where every server of
// one sale finds them: in its database, for the stores that several servers
// share. A token names the secret that signed it by id, so a server checks
// tokens another server signed, and a new secret begins signing (a rotation)
// without making the tokens signed before it worthless.
type Keyring interface {
	// SigningKey returns the secret kept under id. The first call for an id
	// keeps fresh under it; every later call, from any server, gets that
	// same secret back, fresh or not. Secrets are never changed.
	SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error)
}

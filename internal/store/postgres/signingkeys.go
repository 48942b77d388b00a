package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SigningKey implements store.Journal: keep fresh under id unless some
// server keeps a secret there already, then read what is kept. Both
// statements go in one round trip, an implicit transaction; under READ
// COMMITTED each takes its own snapshot, so the SELECT sees the secret of a
// server whose INSERT the conflict waited for. (One statement could not:
// INSERT ... RETURNING returns nothing on a conflict, and a SELECT in the
// same statement has the snapshot from before the other server committed.)
// It needs no advisory lock, so it never waits for a batch of the sale.
func (j *journal) SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error) {
	q := &pgx.Batch{}
	q.Queue("INSERT INTO signing_keys (id, secret) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", id, fresh)
	q.Queue("SELECT secret FROM signing_keys WHERE id = $1", id)
	res := j.pool.SendBatch(ctx, q)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return nil, fmt.Errorf("keep signing key %q: %w", id, classify(err))
	}
	var secret []byte
	if err := res.QueryRow().Scan(&secret); err != nil {
		return nil, fmt.Errorf("read signing key %q: %w", id, classify(err))
	}
	if err := res.Close(); err != nil {
		return nil, fmt.Errorf("keep signing key %q: %w", id, classify(err))
	}
	return secret, nil
}

package sqlite

import (
	"context"
	"fmt"
	"time"
)

// SigningKey implements store.Journal: keep fresh under id unless a secret
// is kept there already, then read what is kept, in one transaction.
//
// The transaction takes the file's write lock at BEGIN (IMMEDIATE, from the
// DSN), so the INSERT never meets a lock it cannot wait for: a deferred
// transaction that read first would be refused with SQLITE_BUSY at once,
// not waited for, had a batch committed meanwhile. The lock is given out
// by polling up to the busy timeout, so the store takes its turn for it
// under the store's own lock (Store.SigningKey), never against a busy
// writer. It holds one connection and needs no other while it does, so it
// cannot starve the writer of the pool either. created_us is this machine's
// clock, as PostgreSQL's now() is the database's: a record for an operator,
// not an instant of the sale.
func (j *journal) SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error) {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("keep signing key %q: %w", id, explain(err))
	}
	defer tx.Rollback() // after Commit, a no-op
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO signing_keys (id, secret, created_us) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
		id, fresh, time.Now().UnixMicro()); err != nil {
		return nil, fmt.Errorf("keep signing key %q: %w", id, explain(err))
	}
	var secret []byte
	if err := tx.QueryRowContext(ctx, "SELECT secret FROM signing_keys WHERE id = ?", id).Scan(&secret); err != nil {
		return nil, fmt.Errorf("read signing key %q: %w", id, explain(err))
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("keep signing key %q: %w", id, explain(err))
	}
	return secret, nil
}

package store

import (
	"bytes"
	"context"
	"fmt"

	"github.com/flashsale/flashsale/internal/sale"
)

// SigningKey implements sale.Keyring through the journal: the secrets live
// where the sale does, so every server on one database signs and checks
// with the same ones, and there is nothing for an operator to share.
//
// A journal this process owns alone (not Shared) has one writer, taking
// turns under s.mu, and the keyring's write takes its turn there too rather
// than race a batch for the file's write lock. SQLite hands that lock out
// by polling, so a crowd's back-to-back batches could keep the keyring from
// it until the busy timeout, or a batch waiting behind the keyring be
// refused with SQLITE_BUSY. A shared journal's database orders the servers
// itself; holding s.mu over its round trip would only stall this server's
// batches.
func (s *Store) SigningKey(ctx context.Context, id string, fresh []byte) ([]byte, error) {
	switch {
	case id == "":
		return nil, fmt.Errorf("signing key: %w: no id given", sale.ErrInvalid)
	case len(fresh) == 0:
		return nil, fmt.Errorf("signing key %q: %w: the fresh secret is empty", id, sale.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.shared == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	// Close closes s.closing before the journal, and closes an owned one
	// under s.mu: such a journal is never asked once it is closed.
	select {
	case <-s.closing:
		return nil, fmt.Errorf("signing key %q: %w", id, errClosed)
	default:
	}
	jctx, cancel := context.WithTimeout(ctx, journalTimeout)
	defer cancel()
	secret, err := s.journal.SigningKey(jctx, id, fresh)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("signing key %q: %w", id, ctx.Err()) // the caller's to give up, not the journal's failure
	case err != nil:
		return nil, unavailable(fmt.Sprintf("signing key %q", id), err)
	case len(secret) == 0:
		// Tokens signed with it would be forged by anyone: refused, never
		// handed out.
		return nil, fmt.Errorf("%w: signing key %q: the journal keeps an empty secret under it", sale.ErrUnavailable, id)
	}
	// The caller may change its copy (zero it after use); what is kept,
	// and what the next caller gets, must not change with it.
	return bytes.Clone(secret), nil
}

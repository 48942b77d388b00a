package store

import (
	"context"
	"fmt"

	"github.com/flashsale/flashsale/internal/rules"
	"github.com/flashsale/flashsale/internal/sale"
)

// Snapshot returns a copy of the sale as committed now (its Seq is the
// newest event applied), for a follower of the feed that cannot replay the
// events before it: a webhook deliverer whose owed events a memory store
// could no longer keep goes on from here, the missing ones dead-lettered.
func (s *Store) Snapshot(ctx context.Context) (*rules.Sale, error) {
	if s.shared != nil {
		if err := s.barrier(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stale != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", sale.ErrUnavailable, s.stale)
	}
	return s.sale.Clone(), nil
}

package sqlite

import (
	"context"

	"github.com/flashsale/flashsale/internal/sale"
)

// write inserts a batch's events, after deleting the events a reset in it
// voids.
func (b *batch) write(ctx context.Context, events []sale.Event) error {
	for _, e := range events {
		if e.Kind == sale.EventReset {
			if _, err := b.tx.ExecContext(ctx, "DELETE FROM sale_events WHERE seq < ?", int64(e.Seq)); err != nil {
				return err
			}
		}
	}
	stmt, err := b.tx.PrepareContext(ctx, "INSERT INTO sale_events ("+columns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, e := range events {
		var expUS int64
		if !e.ExpiresAt.IsZero() {
			expUS = e.ExpiresAt.UnixMicro()
		}
		if _, err := stmt.ExecContext(ctx, int64(e.Seq), string(e.Kind), e.At.UnixMicro(), e.UserID, e.ReservationID, e.Position, expUS, e.Total); err != nil {
			return err
		}
	}
	return nil
}

package postgres

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The optional times of an event are NULL in their columns when zero.

// timestamptz is t as a column, NULL for the zero time.
func timestamptz(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// timeOf is the column's time, the zero time for NULL.
func timeOf(c pgtype.Timestamptz) time.Time {
	if !c.Valid {
		return time.Time{}
	}
	return c.Time.UTC()
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flashsale/flashsale/internal/sale"
)

// classify marks the errors that mean "the database cannot be reached or
// cannot serve right now" as sale.ErrUnavailable: a client gets 503 with
// Retry-After, a server starting up waits for the database. Other errors
// (a refused password, a missing database, SQL the schema does not take)
// are left as they are: waiting will not cure them.
func classify(err error) error {
	if err == nil || errors.Is(err, sale.ErrUnavailable) || !transient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", sale.ErrUnavailable, err)
}

func transient(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, too many connections
			"57", // operator intervention: shutting down, starting up
			"58": // system error: I/O
			return true
		}
		return pgErr.Code == "40001" || pgErr.Code == "40P01" // serialization failure, deadlock: try again
	}
	var (
		netErr  net.Error
		connErr *pgconn.ConnectError
	)
	return errors.As(err, &connErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

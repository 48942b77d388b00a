package postgres_test

import (
	"testing"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/sale/conformance"
	"github.com/flashsale/flashsale/internal/store/postgres"
)

// schema gives a test a schema of its own, and the factory that opens a
// store on it: each call opens another store on the same tables, as a
// restarted server, or a second server, does.
func schema(t *testing.T) conformance.Factory {
	dsn := pgtest.Schema(t)
	return func(t *testing.T, cfg sale.Config) sale.Store {
		t.Helper()
		s, err := postgres.Open(t.Context(), dsn, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// open opens a store on a fresh schema of t's own.
func open(t *testing.T, cfg sale.Config) sale.Store { return schema(t)(t, cfg) }

// The suites run side by side, each on schemas of its own: most of their
// time is spent waiting for PostgreSQL's commits.

func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.Run(t, open)
}

func TestLinearizable(t *testing.T) {
	t.Parallel()
	conformance.Linearizable(t, open, 50)
}

func TestDurable(t *testing.T) {
	t.Parallel()
	conformance.RunDurable(t, schema)
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	conformance.RunOutbox(t, open)
}

func TestOutboxDurable(t *testing.T) {
	t.Parallel()
	conformance.RunOutboxDurable(t, schema)
}

// Two servers on one database, each call to the next in turn.
func TestConformanceTwoServers(t *testing.T) {
	t.Parallel()
	conformance.Run(t, func(t *testing.T, cfg sale.Config) sale.Store {
		return conformance.Servers(schema(t), 2)(t, cfg)
	})
}

func TestLinearizableTwoServers(t *testing.T) {
	t.Parallel()
	conformance.LinearizableAcross(t, schema, 50)
}

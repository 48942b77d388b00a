// Package pgtest gives tests PostgreSQL to work on: a schema of their own on
// the machine's server (FLASHSALE_TEST_POSTGRES_DSN), dropped when the test
// ends, or a private cluster they may stop and start (cluster.go). Tests
// that need PostgreSQL skip, saying why, when the variable is not set.
package pgtest

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable that points the tests at a PostgreSQL server.
const EnvDSN = "FLASHSALE_TEST_POSTGRES_DSN"

// ServerDSN returns the machine's PostgreSQL DSN, or skips t without one.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		t.Skip(EnvDSN + " is not set: skipping this PostgreSQL test")
	}
	return dsn
}

// Schema creates a schema of t's own on the machine's PostgreSQL and
// returns a DSN whose search_path is that schema; the schema and all in it
// are dropped when t ends. It skips t when EnvDSN is not set.
func Schema(t testing.TB) string {
	t.Helper()
	return SchemaOn(t, ServerDSN(t))
}

// SchemaOn is Schema on the server dsn names.
func SchemaOn(t testing.TB, dsn string) string {
	t.Helper()
	name := "flashsale_test_" + strings.ToLower(rand.Text()[:12])
	exec(t, dsn, "CREATE SCHEMA "+name)
	t.Cleanup(func() {
		// Connections still open in it (a server a test left running)
		// do not stop the drop: DROP SCHEMA waits only for their locks.
		exec(t, dsn, "DROP SCHEMA "+name+" CASCADE")
	})
	return WithParam(t, dsn, "search_path", name)
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	// t.Context is already cancelled while cleanups run.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", pgdsn.Redact(dsn), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// WithParam sets a connection parameter in a URL or key=value DSN.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	out, err := pgdsn.WithParam(dsn, key, value)
	if err != nil {
		t.Fatalf("%s: %v", EnvDSN, err)
	}
	return out
}

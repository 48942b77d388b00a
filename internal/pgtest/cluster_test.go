package pgtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The private cluster answers, stops (connections then fail at once),
// starts again on the same port with what was committed, and is on
// loopback only, away from the machine's server.
func TestCluster(t *testing.T) {
	c := NewCluster(t)
	if strings.Contains(c.DSN(), ":5432/") {
		t.Fatalf("the private cluster is on the machine's port: %s", c.DSN())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	exec(t, c.DSN(), "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
	var addr string
	query(t, ctx, c.DSN(), "SELECT current_setting('listen_addresses')", &addr)
	if addr != "127.0.0.1" {
		t.Errorf("listen_addresses %q, want 127.0.0.1", addr)
	}

	c.Stop(t)
	if conn, err := pgx.Connect(ctx, c.DSN()); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}

	c.Start(t)
	var n int
	query(t, ctx, c.DSN(), "SELECT n FROM kept", &n)
	if n != 42 {
		t.Fatalf("after a restart the table holds %d, want 42", n)
	}

	// A schema of its own on it, as on the machine's server.
	dsn := SchemaOn(t, c.DSN())
	exec(t, dsn, "CREATE TABLE mine (n int)")
}

func query(t *testing.T, ctx context.Context, dsn, sql string, dest any) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql).Scan(dest); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

package drivers

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const postgresDSNEnv = "FLASHSALE_TEST_POSTGRES_DSN"

// forEachDB runs body once on a fresh SQLite file and, when
// FLASHSALE_TEST_POSTGRES_DSN is set, once on a fresh PostgreSQL schema. Both
// have the schema applied and no rows.
func forEachDB(t *testing.T, body func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		body(t, newSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		body(t, newPostgres(t))
	})
}

func newSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "deliveries.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.ApplySchema(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// newPostgres opens a database whose search_path is a schema of its own,
// dropped when the test ends, so that tests and runs never see each other's
// rows.
func newPostgres(t *testing.T) *DB {
	t.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		t.Skip(postgresDSNEnv + " not set; skipping PostgreSQL tests")
	}
	ctx := t.Context()
	admin, err := OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := "flashsale_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.sql.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is already canceled when cleanups run.
		if _, err := admin.sql.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	db, err := OpenPostgres(ctx, withParam(t, dsn, "search_path", schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // runs before the drop above
	if err := db.ApplySchema(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// withParam adds a run-time parameter to a URL or key=value DSN.
func withParam(t testing.TB, dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s %s=%s", dsn, key, value)
}

// A failed connection is one line without the password, in either form of
// DSN: pgx puts each address it tried on a line of its own (two for one
// host, when sslmode lets it retry without TLS).
func TestOpenPostgresErrorIsOneLine(t *testing.T) {
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 user=u password=s3cret dbname=d connect_timeout=1",
		"postgres://u:s3cret@127.0.0.1:1/d?connect_timeout=1",
		"postgres://u:s3cret@127.0.0.1:notaport/d",
	} {
		db, err := OpenPostgres(t.Context(), dsn)
		if err == nil {
			db.Close()
			t.Errorf("OpenPostgres(%q): no error", dsn)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "s3cret") {
			t.Errorf("OpenPostgres(%q): %q, want one line without the password", dsn, msg)
		}
	}
}

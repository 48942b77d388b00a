package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/postgres"
)

// TestOpenUnreachable: a database that does not answer is ErrUnavailable,
// which a server starting up waits out; it needs no PostgreSQL at all.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://flashsale:secret@127.0.0.1:1/sale?sslmode=disable&connect_timeout=2", sale.Config{})
	if !errors.Is(err, sale.ErrUnavailable) {
		t.Fatalf("open on a closed port: %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
}

// TestOpenRefusals: what waiting will not cure is not ErrUnavailable, and
// says what is wrong.
func TestOpenRefusals(t *testing.T) {
	dsn := pgtest.ServerDSN(t)
	for _, c := range []struct {
		name, dsn, want string
	}{
		{"no such database", replaceDB(t, dsn, "flashsale_no_such_db"), "does not exist"},
		{"no such schema", pgtest.WithParam(t, dsn, "search_path", "flashsale_no_such_schema"), "search_path"},
		{"not a DSN", "postgres://[::1", "DSN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), c.dsn, sale.Config{})
			if err == nil || errors.Is(err, sale.ErrUnavailable) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("open: %v; want an error that is not ErrUnavailable and mentions %q", err, c.want)
			}
		})
	}
}

func replaceDB(t *testing.T, dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s must be a URL for this test: %v", pgtest.EnvDSN, err)
	}
	u.Path = "/" + db
	return u.String()
}

// TestServersStartTogether: servers starting at once on a fresh schema
// take turns migrating it (goose's advisory lock) and all come up on the
// same sale.
func TestServersStartTogether(t *testing.T) {
	dsn := pgtest.Schema(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]interface{ Close() error }, n)
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn, sale.Config{})
			errs[i] = err
			if err == nil {
				stores[i] = s
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("server %d: %v", i, err)
		} else {
			stores[i].Close()
		}
	}
}

// TestNewerSchemaRefused: a schema a newer flashsale migrated is refused
// with a message that says so, not used with tables this build does not
// know.
func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.Schema(t)
	s, err := postgres.Open(t.Context(), dsn, sale.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(t.Context(), dsn, sale.Config{})
	if err == nil || errors.Is(err, sale.ErrUnavailable) || !strings.Contains(err.Error(), "newer flashsale") {
		t.Fatalf("open a schema at version 99: %v", err)
	}
}

package load

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/pgdsn"
	"github.com/jackc/pgx/v5"
)

// pgSchema is a schema made for one comparison on the PostgreSQL server the
// user named, so that no sale left there by an earlier run (or by anyone
// else) is replayed at start; it is dropped afterwards.
type pgSchema struct {
	server string // the DSN given: a server and a database
	name   string // flashsale_load_<random>
	dsn    string // server with search_path=name: what the servers get
}

// pgSchemaPrefix starts the name of every schema a comparison makes.
const pgSchemaPrefix = "flashsale_load_"

// pgTimeout bounds creating and dropping the schema.
const pgTimeout = 30 * time.Second

// newSchemaName is a fresh schema name: the prefix and 12 random letters
// and digits, lower case, so that it needs no quoting.
func newSchemaName() string {
	return pgSchemaPrefix + strings.ToLower(rand.Text()[:12])
}

// createSchema makes a fresh schema on the server dsn names.
func createSchema(ctx context.Context, dsn string) (*pgSchema, error) {
	s := &pgSchema{server: dsn, name: newSchemaName()}
	var err error
	if s.dsn, err = pgdsn.WithParam(dsn, "search_path", s.name); err != nil {
		return nil, err
	}
	if err := s.exec(ctx, "CREATE SCHEMA "+s.name); err != nil {
		return nil, err
	}
	return s, nil
}

// drop drops the schema and everything in it. It runs after the servers
// have stopped, and also when the comparison failed or was interrupted,
// hence a context of its own.
func (s *pgSchema) drop() error {
	return s.exec(context.Background(), "DROP SCHEMA "+s.name+" CASCADE")
}

func (s *pgSchema) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.server)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", pgdsn.Redact(s.server), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("PostgreSQL at %s: %s: %w", pgdsn.Redact(s.server), sql, err)
	}
	return nil
}

// pgOnThisMachine says whether the server dsn names runs here (loopback or
// a Unix socket), sharing the CPU with the servers and the generator.
func pgOnThisMachine(dsn string) bool {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false
	}
	h := cfg.Host
	if strings.HasPrefix(h, "/") || h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

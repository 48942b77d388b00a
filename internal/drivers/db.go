// Package drivers answers one question of the delivery log — which drivers
// were reliable in a given month — on SQLite or PostgreSQL, with the SQL in
// github.com/flashsale/flashsale/sql as the single source of truth.
package drivers

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver, pure Go

	"github.com/flashsale/flashsale/internal/pgdsn"
	sqlfiles "github.com/flashsale/flashsale/sql"
)

// Dialect is the SQL dialect of a database.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

func (d Dialect) schema() string {
	if d == Postgres {
		return sqlfiles.SchemaPostgres
	}
	return sqlfiles.SchemaSQLite
}

// DB is a delivery log in either dialect.
type DB struct {
	sql     *sql.DB
	dialect Dialect
}

// DefaultConnectTimeout bounds connecting to PostgreSQL when the DSN does
// not set connect_timeout, so a wrong host fails in seconds, not minutes.
const DefaultConnectTimeout = 5 * time.Second

// OpenSQLite opens the SQLite file at path. Unless create is set, the file
// must exist: opening a mistyped path must not leave an empty database behind
// and then report that nobody was reliable. A missing file gives an error
// that matches fs.ErrNotExist.
func OpenSQLite(ctx context.Context, path string, create bool) (*DB, error) {
	mode := "rwc"
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open SQLite database: %w", err)
		}
		mode = "rw" // and if the file vanishes after Stat, still do not create it
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?mode=" + mode + "&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	return &DB{sql: db, dialect: SQLite}, nil
}

// OpenPostgres connects to PostgreSQL through pgx. The DSN is a URL or a
// key=value string; parameters pgx does not know, such as search_path, are
// sent to the server as run-time settings.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in its parse errors; RedactError makes
		// sure of it, whatever pgx does next.
		return nil, fmt.Errorf("PostgreSQL DSN: %w", pgdsn.RedactError(err, dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// RedactError also makes the error one line: pgx lists each
		// address it tried on a line of its own.
		return nil, fmt.Errorf("connect to PostgreSQL: %w", pgdsn.RedactError(err, dsn))
	}
	return &DB{sql: db, dialect: Postgres}, nil
}

// Dialect reports which database db is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the migrations this build has that the schema lacks, and
// refuses a schema a newer flashsale wrote. Servers starting at once take
// turns: goose holds a session advisory lock while it migrates, keyed by
// the schema so that sales in other schemas do not wait for each other.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(advisoryKey("migrations", schema)),
		// Those waiting try again each second (goose waits 5 s by default),
		// for up to five minutes.
		lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate schema %s: %w", schema, err)
	}
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read the schema's version: %w", err)
	}
	if current > known {
		return fmt.Errorf("schema %s is at version %d, written by a newer flashsale (this one knows versions up to %d): run that flashsale or a newer one", schema, current, known)
	}
	return nil
}

// advisoryKey is the key of one of a sale's advisory locks: the sale in
// schema, for purpose. Advisory locks are per database; the schema in the
// key keeps sales in other schemas from waiting for each other.
func advisoryKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("flashsale " + purpose + " " + schema))
	return int64(h.Sum64())
}

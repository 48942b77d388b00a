package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// applicationID marks a SQLite file as a flashsale sale ("FlSa"), so that
// flashsale never adopts, migrates or writes another program's database.
const applicationID = 0x466c5361

// migrate claims the file for flashsale if it is new, refuses it if it
// belongs to something else or to a newer flashsale, and applies the
// migrations this build has that it lacks. It is idempotent.
func migrate(ctx context.Context, db *sql.DB) error {
	var appID int64
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	switch appID {
	case applicationID:
	case 0:
		var tables int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
			return err
		}
		if tables > 0 {
			return fmt.Errorf("it is a SQLite database of another program (%d tables, no flashsale mark); give flashsale a file of its own", tables)
		}
		// Marked before the first migration: a crash in between leaves an
		// empty flashsale file, which the next start migrates.
		if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("it is a SQLite database of another program (application_id %#x); give flashsale a file of its own", appID)
	}

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > known {
		return fmt.Errorf("its schema is version %d, newer than this flashsale knows (%d): run the flashsale that wrote it, or a newer one", current, known)
	}
	return nil
}

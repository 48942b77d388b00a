package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// applicationID marks a SQLite file as a flashsale sale ("FlSa"), so that
// flashsale never adopts, migrates or writes another program's database.
const applicationID = 0x466c5361

// migrate claims the file for flashsale if it is new, refuses it if it
// belongs to something else or to a newer flashsale, applies the migrations
// this build has that it lacks, and proves that the file takes writes. It
// is idempotent.
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
			return fmt.Errorf("it is a SQLite database of another program (it has %s and no flashsale mark): give flashsale a file of its own", plural(tables, "table"))
		}
		// Marked before the first migration: a crash in between leaves an
		// empty flashsale file, which the next start migrates.
		if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
			return err
		}
	default:
		return errForeign(appID)
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
		return fmt.Errorf("its schema is version %d, written by a newer flashsale (this one knows versions up to %d): run that flashsale or a newer one", current, known)
	}
	return proveWritable(ctx, db)
}

// proveWritable commits a write that changes nothing (the mark, set again),
// so that a file SQLite could only open read-only, or one on a full disk,
// is refused at start instead of answering every change with 503 later.
func proveWritable(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// checkHeader refuses, from the 100-byte SQLite header alone and without
// writing anything, a file that is not SQLite or is another program's
// database: opening it through SQLite with flashsale's settings would
// already change it. A missing or empty file passes (flashsale creates
// it), and so does anything migrate still has to judge; see
// https://www.sqlite.org/fileformat.html for the offsets.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil
	case errors.Is(err, io.ErrUnexpectedEOF), err == nil && string(h[:16]) != "SQLite format 3\x00":
		return errors.New(msgNotSQLite)
	case err != nil:
		return fmt.Errorf("read its header: %w", err)
	}
	switch appID := int64(int32(binary.BigEndian.Uint32(h[68:]))); {
	case appID == applicationID:
		return nil
	case appID != 0:
		return errForeign(appID)
	case binary.BigEndian.Uint32(h[40:]) != 0:
		// No mark, but a schema cookie: someone created tables in it.
		return errors.New("it is a SQLite database of another program (it has tables and no flashsale mark): give flashsale a file of its own")
	}
	return nil
}

func errForeign(appID int64) error {
	return fmt.Errorf("it is a SQLite database of another program (its application_id is %#x, not flashsale's): give flashsale a file of its own", appID)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

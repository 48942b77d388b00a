// Package sqlite keeps a sale in one SQLite file (modernc.org/sqlite, pure
// Go): the rules run in memory (internal/store), and every batch of their
// events is committed to the file, in WAL mode with synchronous=FULL, before
// anyone is answered. Start-up replays the events since the last reset.
//
// One process owns a file: Open takes an exclusive lock on PATH-lock and
// fails at once if another process has it. Other programs may read the file
// while it is in use (WAL readers do not block the writer).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// Open opens (or creates) the sale in the SQLite file at path and returns it
// rebuilt from the file, with holds that expired while nobody ran it
// expired now. Every error names the file and says what is wrong with it.
func Open(ctx context.Context, path string, cfg sale.Config) (*store.Store, error) {
	j, err := openJournal(ctx, path, cfg)
	if err != nil {
		return nil, fmt.Errorf("open sale database %s: %w", path, err)
	}
	s, err := store.Open(ctx, j, cfg)
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("open sale database %s: %w", path, err)
	}
	return s, nil
}

// journal is a store.Journal over one SQLite file.
type journal struct {
	db   *sql.DB
	lock *os.File

	keyTTL  time.Duration // a key record is forgotten this long after it was made
	maxKeys int           // beyond this many, the oldest records are forgotten
	// keys is how many rows sale_keys holds, or unknownKeys. This process
	// is the file's only writer, so it is exact without counting the
	// table each batch: it changes only when a commit succeeds.
	keys int

	// outbox is the webhook endpoints registered at open, and how long
	// one nobody leases holds back the pruning of events (outbox.go).
	outbox sale.OutboxConfig
}

// unknownKeys: a commit failed, and whether it was made is not known here;
// the next batch that keeps keys counts them again, in its transaction.
const unknownKeys = -1

// openJournal opens the journal at path, keeping keys and webhook cursors
// as cfg says (its zeros are the defaults).
func openJournal(ctx context.Context, path string, cfg sale.Config) (*journal, error) {
	if path == "" {
		return nil, errors.New("no path given")
	}
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("its folder %s does not exist (flashsale creates the file, not its folder)", dir)
		}
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, errors.New("it is a folder: give the path of a file in it, e.g. " + filepath.Join(path, "sale.db"))
	} else if err == nil && !st.Mode().IsRegular() {
		return nil, errors.New("it is not a regular file (a device, a pipe or a socket): give the path of a file")
	}
	// Before anything is created beside it or SQLite is let at it (the
	// connection switches a file to WAL, a change to its header), a file
	// that is plainly not a flashsale sale is refused.
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	lock, err := lockFile(path + "-lock")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && (errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)) {
			return nil, fmt.Errorf("its folder %s cannot be written (%w): flashsale needs a writable file in a writable folder", dir, pe.Err)
		}
		return nil, err
	}
	j := &journal{lock: lock, keyTTL: cfg.KeyTTL, maxKeys: cfg.MaxKeys, outbox: cfg.Outbox}
	if j.db, err = sql.Open("sqlite", dsn(path)); err != nil {
		j.Close()
		return nil, err
	}
	// WAL lets readers (the feed, an operator's sqlite3) run beside the
	// one writer; the store's writer goroutine is the only one that writes.
	j.db.SetMaxOpenConns(4)
	j.db.SetConnMaxIdleTime(time.Minute)
	if err := migrate(ctx, j.db); err != nil {
		j.Close()
		return nil, explain(err)
	}
	if j.keys, err = countKeys(ctx, j.db); err != nil {
		j.Close()
		return nil, fmt.Errorf("count idempotency keys: %w", explain(err))
	}
	if err := j.register(ctx, cfg.Clock.Now()); err != nil {
		j.Close()
		return nil, err
	}

	return j, nil
}

// dsn asks for WAL with synchronous=FULL: a commit returns only once the WAL
// is synced, so an answered change survives a power cut, not just a crash
// (docs/design.md has the numbers behind choosing FULL). BEGIN IMMEDIATE
// takes the write lock at the start of a batch, not at its first write.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database, then gives up the lock.
func (j *journal) Close() error {
	var err error
	if j.db != nil {
		err = j.db.Close()
	}
	if j.lock != nil {
		err = errors.Join(err, j.lock.Close()) // closing releases the flock
	}
	return err
}

const columns = "seq, kind, at_us, user_id, reservation_id, position, expires_us, total, opens_us, closes_us, seed"

// Read implements store.Journal: from the last reset on, even where events
// before it are still kept for the webhook endpoints (outbox.go), so that a
// replay starts there. "seq >= the last reset" is written as the one lower
// bound it makes with "seq > after", a range of the primary key: as two
// bounds, SQLite seeks by the first and filters by the second, reading
// every kept event before the reset to skip it.
func (j *journal) Read(ctx context.Context, after uint64, limit int) ([]sale.Event, error) {
	return j.events(ctx, "seq > max(?, coalesce((SELECT max(seq) FROM sale_events WHERE kind = 'reset') - 1, 0))", int64(after), limit)
}

// events returns up to limit events that match where (whose one parameter
// is arg), oldest first.
func (j *journal) events(ctx context.Context, where string, arg int64, limit int) ([]sale.Event, error) {
	rows, err := j.db.QueryContext(ctx, "SELECT "+columns+" FROM sale_events WHERE "+where+" ORDER BY seq LIMIT ?", arg, limit)
	if err != nil {
		return nil, explain(err)
	}
	defer rows.Close()
	var events []sale.Event
	for rows.Next() {
		var (
			e           sale.Event
			seq         int64
			kind        string
			atUS, expUS int64
			opensUS     int64
			closesUS    int64
		)
		if err := rows.Scan(&seq, &kind, &atUS, &e.UserID, &e.ReservationID, &e.Position, &expUS, &e.Total, &opensUS, &closesUS, &e.Seed); err != nil {
			return nil, explain(err)
		}
		if opensUS != 0 {
			e.OpensAt = time.UnixMicro(opensUS).UTC()
		}
		if closesUS != 0 {
			e.ClosesAt = time.UnixMicro(closesUS).UTC()
		}
		e.Seq, e.Kind, e.At = uint64(seq), sale.EventKind(kind), time.UnixMicro(atUS).UTC()
		if expUS != 0 {
			e.ExpiresAt = time.UnixMicro(expUS).UTC()
		}
		events = append(events, e)
	}
	return events, explain(rows.Err())
}

// Begin implements store.Journal.
func (j *journal) Begin(ctx context.Context) (store.Batch, error) {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, explain(err)
	}
	return &batch{j: j, tx: tx}, nil
}

type batch struct {
	j  *journal
	tx *sql.Tx
}

// Since implements store.Batch. This process holds the file's lock, so it is
// the only writer: nobody else can have committed. (Reading to make sure
// cost a quarter of the writer's time per batch: docs/benchmarks.md.)
func (b *batch) Since(context.Context, uint64) ([]sale.Event, error) { return nil, nil }

// Commit implements store.Batch: the events and key records in one
// transaction, older events dropped in it when a reset voids them (never
// keys: an admin's retried reset must be answered, not start another
// sale), and expired or surplus keys forgotten in it.
func (b *batch) Commit(ctx context.Context, events []sale.Event, keys []sale.KeyRecord) error {
	kept := b.j.keys
	err := b.write(ctx, events)
	if err == nil && len(keys) > 0 {
		kept, err = b.keep(ctx, keys)
	}
	if err != nil {
		_ = b.tx.Rollback()
		return explain(err)
	}
	if err := b.tx.Commit(); err != nil {
		b.j.keys = unknownKeys
		return explain(err)
	}
	b.j.keys = kept
	return nil
}

// Rollback implements store.Batch.
func (b *batch) Rollback() error { return b.tx.Rollback() }

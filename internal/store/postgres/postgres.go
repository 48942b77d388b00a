// Package postgres keeps a sale in PostgreSQL (pgx v5), shared by any number
// of flashsale servers: every server runs the rules in memory
// (internal/store) and commits each batch of their events to one table,
// holding the sale's advisory lock (and its one row, FOR UPDATE) from the
// moment it catches up on the others' events to its commit. That lock is
// what serializes the servers: a batch is decided on the state every
// earlier commit left, so no two servers can hand out one unit, and the
// line has one order. Reads share the lock, so they never fall inside a
// batch.
//
// The tables live in the first schema of the connection's search_path (set
// it in the DSN, e.g. ?search_path=shop, to keep several sales in one
// database). docs/design.md argues each point.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// Open connects to the database dsn names, migrates its schema (one server
// at a time, under an advisory lock) and returns the sale rebuilt from its
// events, with holds that expired while no server ran expired now.
//
// When the database cannot be reached, the error wraps sale.ErrUnavailable
// and the caller may try again; any other error (a bad DSN, a refused
// password, a schema from a newer flashsale) will not go away by itself.
func Open(ctx context.Context, dsn string, cfg sale.Config) (*store.Store, error) {
	j, err := openJournal(ctx, dsn, cfg)
	if err != nil {
		return nil, fmt.Errorf("open the sale in PostgreSQL: %w", err)
	}
	s, err := store.Open(ctx, j, cfg)
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("open the sale in PostgreSQL: %w", classify(err))
	}
	return s, nil
}

// journal is a store.Shared over one schema's tables.
type journal struct {
	pool    *pgxpool.Pool
	channel string // what commits NOTIFY and Watch LISTENs on
	// lock is the key of the sale's advisory lock: each batch holds it
	// exclusively from before it decides until its commit; Head shares it.
	lock int64

	keyTTL  time.Duration // a key record is forgotten this long after it was made
	maxKeys int           // beyond this many, the oldest records are forgotten

	// outbox is the webhook endpoints this server registered at open, and
	// how long one no server leases holds back the pruning of events
	// (outbox.go).
	outbox sale.OutboxConfig
}

var _ store.Shared = (*journal)(nil)

// openJournal connects to the database dsn names, keeping keys and webhook
// cursors as cfg says (its zeros are the defaults).
func openJournal(ctx context.Context, dsn string, cfg sale.Config) (*journal, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("the DSN: %w", err)
	}
	params := pcfg.ConnConfig.RuntimeParams
	for name, value := range sessionDefaults {
		if _, set := params[name]; !set {
			params[name] = value
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, classify(err)
	}
	j := &journal{pool: pool, keyTTL: cfg.KeyTTL, maxKeys: cfg.MaxKeys, outbox: cfg.Outbox}
	if err := pool.Ping(ctx); err != nil {
		j.Close()
		return nil, fmt.Errorf("connect to %s: %w", where(pcfg), classify(err))
	}
	var schema *string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		j.Close()
		return nil, classify(err)
	}
	if schema == nil {
		j.Close()
		return nil, errors.New("no schema of the search_path exists: create it, or name one that exists in the DSN (?search_path=NAME)")
	}
	j.channel, j.lock = channel(*schema), advisoryKey("sale", *schema)
	if err := migrate(ctx, pool, *schema); err != nil {
		j.Close()
		return nil, classify(err)
	}
	if err := j.register(ctx, cfg.Clock.Now()); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

// sessionDefaults are set on every connection unless the DSN sets them.
var sessionDefaults = map[string]string{
	// A server that dies in the middle of a batch (power lost, network
	// cut: no FIN reaches PostgreSQL) would hold the sale row's lock until
	// TCP gives up, which can take hours, and every other server's batch
	// would wait behind it. A batch never leaves its transaction idle for
	// more than a moment, so after 5 s PostgreSQL may safely end the
	// session, rolling the batch back and releasing the lock.
	"idle_in_transaction_session_timeout": "5s",
	// pgx prepares every statement, and after five runs PostgreSQL may
	// cache a generic plan, chosen while the table was small: a full scan,
	// kept as the table grows. The catch-up read then took 5 ms a batch at
	// 100k events instead of microseconds (measured, BenchmarkGroupCommit).
	// Our statements are cheap to plan each time.
	"plan_cache_mode": "force_custom_plan",
	// What an operator sees in pg_stat_activity.
	"application_name": "flashsale",
}

func where(c *pgxpool.Config) string {
	return fmt.Sprintf("PostgreSQL at %s:%d, database %s", c.ConnConfig.Host, c.ConnConfig.Port, c.ConnConfig.Database)
}

// Close closes the pool.
func (j *journal) Close() error {
	j.pool.Close()
	return nil
}

const columns = "seq, kind, at, user_id, reservation_id, position, expires_at, total, opens_at, closes_at, seed"

// Read implements store.Journal: from the last reset on, even where events
// before it are still kept for the webhook endpoints (outbox.go), so that a
// replay starts there.
func (j *journal) Read(ctx context.Context, after uint64, limit int) ([]sale.Event, error) {
	rows, err := j.pool.Query(ctx, "SELECT "+columns+" FROM sale_events WHERE seq > $1 AND seq >= coalesce((SELECT max(seq) FROM sale_events WHERE kind = 'reset'), 0) ORDER BY seq LIMIT $2", int64(after), limit)
	if err != nil {
		return nil, classify(err)
	}
	return scan(rows)
}

// Head implements store.Shared. It waits for a batch that is deciding or
// committing to end: that batch's decisions read the clock before this
// call may have begun, so a read that answered without it while it is
// still to commit would see a sale older than the instants its own
// answers carry. Sharing the lock the batches hold exclusively means the
// head is read between two batches, never inside one. A read-only
// transaction of three statements in one round trip: the lock, then (a
// statement of its own, so with a snapshot taken after the lock is
// granted) last_seq.
func (j *journal) Head(ctx context.Context) (uint64, error) {
	q := &pgx.Batch{}
	q.Queue("BEGIN READ ONLY")
	q.Queue("SELECT pg_advisory_xact_lock_shared($1)", j.lock)
	q.Queue("SELECT last_seq FROM sale WHERE id = 1")
	q.Queue("COMMIT")
	res := j.pool.SendBatch(ctx, q)
	defer res.Close()
	var last int64
	for i := range 4 {
		var err error
		if i == 2 {
			err = res.QueryRow().Scan(&last)
		} else {
			_, err = res.Exec()
		}
		if err != nil {
			return 0, classify(err)
		}
	}
	return uint64(last), classify(res.Close())
}

// scan reads events, oldest first, and closes rows.
func scan(rows pgx.Rows) ([]sale.Event, error) {
	defer rows.Close()
	var events []sale.Event
	for rows.Next() {
		var (
			e       sale.Event
			seq     int64
			kind    string
			expires pgtype.Timestamptz
			opens   pgtype.Timestamptz
			closes  pgtype.Timestamptz
		)
		if err := rows.Scan(&seq, &kind, &e.At, &e.UserID, &e.ReservationID, &e.Position, &expires, &e.Total, &opens, &closes, &e.Seed); err != nil {
			return nil, classify(err)
		}
		e.Seq, e.Kind, e.At = uint64(seq), sale.EventKind(kind), e.At.UTC()
		e.ExpiresAt, e.OpensAt, e.ClosesAt = timeOf(expires), timeOf(opens), timeOf(closes)
		events = append(events, e)
	}
	return events, classify(rows.Err())
}

// Begin implements store.Journal. It only takes a connection: the
// transaction begins in Since, in the same round trip as the lock and the
// catch-up read.
func (j *journal) Begin(ctx context.Context) (store.Batch, error) {
	conn, err := j.pool.Acquire(ctx)
	if err != nil {
		return nil, classify(err)
	}
	return &batch{j: j, conn: conn}, nil
}

// batch is one transaction on one connection. Its statements are sent in
// two pipelined round trips (Since, Commit), three when its calls have
// idempotency keys (Keys), rather than one per statement: the sale row
// stays locked from the first to the end of the last, and every round trip
// saved is time no other server can commit.
type batch struct {
	j      *journal
	conn   *pgxpool.Conn
	begun  bool
	last   uint64 // the newest committed event's Seq, read under the lock
	locked bool
}

// Since implements store.Batch: it begins the transaction and takes the
// sale's advisory lock exclusively (which every server's batch takes first,
// and Head shares), so until this transaction ends no one else commits or
// reads the head; then it locks the sale row and returns what others
// committed after `after`. Each read is a statement of its own, after the
// lock is granted, so its snapshot (READ COMMITTED: one per statement) has
// every commit made before the lock was. It does not skip to the last
// reset: the events before one that are still kept (for the webhook
// endpoints) follow this server's state in order, and where they were
// pruned the gap ends at a reset, which applies after any gap.
func (b *batch) Since(ctx context.Context, after uint64) ([]sale.Event, error) {
	q := &pgx.Batch{}
	q.Queue("BEGIN")
	q.Queue("SELECT pg_advisory_xact_lock($1)", b.j.lock)
	q.Queue("SELECT last_seq FROM sale WHERE id = 1 FOR UPDATE")
	// Bounded above, so that the planner, even before the table's first
	// ANALYZE (a new sale's first minute), picks the index: "seq > $1"
	// alone looks like a third of the table and is read by a full scan.
	q.Queue("SELECT "+columns+" FROM sale_events WHERE seq > $1 AND seq <= (SELECT last_seq FROM sale WHERE id = 1) ORDER BY seq", int64(after))
	res := b.conn.SendBatch(ctx, q)
	defer res.Close()
	b.begun = true
	for range 2 { // BEGIN, the lock
		if _, err := res.Exec(); err != nil {
			return nil, classify(err)
		}
	}
	var last int64
	if err := res.QueryRow().Scan(&last); err != nil {
		return nil, classify(err)
	}
	b.last, b.locked = uint64(last), true
	rows, err := res.Query()
	if err != nil {
		return nil, classify(err)
	}
	events, err := scan(rows)
	if err != nil {
		return nil, err
	}
	return events, classify(res.Close())
}

// Commit implements store.Batch: the events, the sale row's new last_seq,
// the deletion of what a reset voids, the notification to the other
// servers, the key records and the forgetting of those expired or beyond
// MaxKeys, and the COMMIT, in one round trip. A batch of keys alone (every
// call answered with a conflict) changes no event, so it neither advances
// the sale nor tells the other servers.
func (b *batch) Commit(ctx context.Context, events []sale.Event, keys []sale.KeyRecord) error {
	if err := b.write(ctx, events, keys); err != nil {
		_ = b.Rollback()
		return classify(err)
	}
	b.conn.Release()
	return nil
}

func (b *batch) write(ctx context.Context, events []sale.Event, keys []sale.KeyRecord) error {
	if !b.locked {
		return errors.New("commit without Since: the sale row is not locked")
	}
	if len(events) == 0 && len(keys) == 0 {
		return errors.New("commit of no events and no keys")
	}
	q := &pgx.Batch{}
	if len(events) > 0 {
		b.queueEvents(q, events)
	}
	if len(keys) > 0 {
		if err := b.queueKeys(q, keys); err != nil {
			return err
		}
	}
	// A COMMIT of a transaction that failed answers ROLLBACK, not an error.
	queue(q, "commit", func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return fmt.Errorf("it answered %s", tag)
		}
		return nil
	}, "COMMIT")
	if err := b.conn.SendBatch(ctx, q).Close(); err != nil {
		return err
	}
	b.begun = false
	return nil
}

// queueEvents queues the events, the sale row's new last_seq, the deletion
// of what a reset among them voids (but for what a webhook endpoint has yet
// to acknowledge), and the notification.
func (b *batch) queueEvents(q *pgx.Batch, events []sale.Event) {
	var (
		n        = len(events)
		seqs     = make([]int64, n)
		kinds    = make([]string, n)
		ats      = make([]time.Time, n)
		users    = make([]string, n)
		ids      = make([]string, n)
		posits   = make([]int64, n)
		expires  = make([]pgtype.Timestamptz, n)
		totals   = make([]int64, n)
		opens    = make([]pgtype.Timestamptz, n)
		closes   = make([]pgtype.Timestamptz, n)
		seeds    = make([][]byte, n)
		newest   = events[n-1].Seq
		resetSeq uint64
		resetAt  time.Time
	)
	for i, e := range events {
		seqs[i], kinds[i], ats[i] = int64(e.Seq), string(e.Kind), e.At
		users[i], ids[i], posits[i], totals[i] = e.UserID, e.ReservationID, e.Position, e.Total
		expires[i], opens[i], closes[i] = timestamptz(e.ExpiresAt), timestamptz(e.OpensAt), timestamptz(e.ClosesAt)
		seeds[i] = e.Seed
		if e.Kind == sale.EventReset {
			resetSeq, resetAt = e.Seq, e.At
		}
	}
	queue(q, fmt.Sprintf("insert %d events", n), nil,
		"INSERT INTO sale_events ("+columns+") SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[], $8::bigint[], $9::timestamptz[], $10::timestamptz[], $11::bytea[])",
		seqs, kinds, ats, users, ids, posits, expires, totals, opens, closes, seeds)
	// The guard on last_seq makes a batch that did not follow the newest
	// commit fail rather than fork the sale (the row lock already rules it
	// out; this keeps it so should the lock ever be skipped).
	queue(q, fmt.Sprintf("advance the sale to %d", newest), func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("it is no longer at %d", b.last)
		}
		return nil
	}, "UPDATE sale SET last_seq = $1 WHERE id = 1 AND last_seq = $2", int64(newest), int64(b.last))
	if resetSeq > 0 {
		// Events only: the keys stay, so that an admin's retried reset is
		// answered, not made again.
		queue(q, fmt.Sprintf("delete the events before the reset at %d", resetSeq), nil,
			pruneSQL, b.j.pruneCutoff(resetAt))
	}
	// Delivered at commit, in commit order, to the servers listening.
	queue(q, "notify", nil, "SELECT pg_notify($1, $2)", b.j.channel, strconv.FormatUint(newest, 10))
}

// queue queues sql in q. When the pipeline's results are read, an error
// says what the statement was doing, and check, if given, judges its tag.
func queue(q *pgx.Batch, doing string, check func(pgconn.CommandTag) error, sql string, args ...any) {
	q.Queue(sql, args...).Fn = func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err == nil && check != nil {
			err = check(tag)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", doing, err)
		}
		return nil
	}
}

// Rollback implements store.Batch. A connection left in a transaction (the
// ROLLBACK failed: the connection is broken) is closed by the pool when it
// is released, which ends the transaction on the server too.
func (b *batch) Rollback() error {
	defer b.conn.Release()
	if !b.begun {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := b.conn.Exec(ctx, "ROLLBACK")
	return err
}

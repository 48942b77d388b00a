package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// idsPerSelect bounds the keys one SELECT asks for: 2 parameters each, far
// below SQLite's 32,766. A batch asks for at most one key per call.
const idsPerSelect = 256

// Keys implements store.Batch: every record kept for ids, in the batch's
// transaction.
func (b *batch) Keys(ctx context.Context, ids []sale.KeyID) ([]sale.KeyRecord, error) {
	var records []sale.KeyRecord
	for len(ids) > 0 {
		n := min(len(ids), idsPerSelect)
		got, err := b.keysOf(ctx, ids[:n])
		if err != nil {
			return nil, err
		}
		records = append(records, got...)
		ids = ids[n:]
	}
	return records, nil
}

// keysOf reads the records of up to idsPerSelect keys. The row values are
// looked up in the primary key (scope, key, at_us), a search per key.
func (b *batch) keysOf(ctx context.Context, ids []sale.KeyID) ([]sale.KeyRecord, error) {
	args := make([]any, 0, 2*len(ids))
	for _, id := range ids {
		args = append(args, id.Scope, id.Key)
	}
	q := "SELECT scope, key, at_us, record FROM sale_keys WHERE (scope, key) IN (VALUES " +
		strings.TrimSuffix(strings.Repeat("(?, ?), ", len(ids)), ", ") + ")"
	rows, err := b.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, explain(err)
	}
	defer rows.Close()
	var records []sale.KeyRecord
	for rows.Next() {
		var (
			id     sale.KeyID
			atUS   int64
			record string
		)
		if err := rows.Scan(&id.Scope, &id.Key, &atUS, &record); err != nil {
			return nil, explain(err)
		}
		r, err := store.DecodeKeyRecord(id, time.UnixMicro(atUS), []byte(record))
		if err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	return records, explain(rows.Err())
}

// keep inserts a batch's key records, then forgets those that have expired
// by the newest one's time and, beyond maxKeys, the oldest, so that the
// file's keys are bounded as the rules' are. It returns how many rows
// sale_keys holds then.
func (b *batch) keep(ctx context.Context, keys []sale.KeyRecord) (int, error) {
	count, err := b.keyCount(ctx)
	if err != nil {
		return 0, fmt.Errorf("count idempotency keys: %w", err)
	}
	added, err := b.insert(ctx, "sale_keys (scope, key, at_us, record)", 4, len(keys), func(args []any, i int) ([]any, error) {
		k := keys[i]
		doc, err := store.EncodeKeyRecord(k)
		if err != nil {
			return args, err
		}
		return append(args, k.ID.Scope, k.ID.Key, k.At.UnixMicro(), string(doc)), nil
	})
	if err != nil {
		return 0, fmt.Errorf("keep %d idempotency keys: %w", len(keys), err)
	}
	count += int(added)
	cutoff := store.KeyCutoff(keys, b.j.keyTTL)
	expired, err := b.exec(ctx, "DELETE FROM sale_keys WHERE at_us <= ?", cutoff.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("forget idempotency keys made at or before %v: %w", cutoff, err)
	}
	count -= expired
	if over := count - b.j.maxKeys; over > 0 {
		evicted, err := b.exec(ctx, "DELETE FROM sale_keys WHERE rowid IN (SELECT rowid FROM sale_keys ORDER BY at_us, rowid LIMIT ?)", over)
		if err != nil {
			return 0, fmt.Errorf("forget the %d oldest idempotency keys: %w", over, err)
		}
		count -= evicted
	}
	return count, nil
}

// keyCount is how many rows sale_keys holds, counted in the transaction
// when a failed commit left it unknown.
func (b *batch) keyCount(ctx context.Context) (int, error) {
	if b.j.keys != unknownKeys {
		return b.j.keys, nil
	}
	return countKeys(ctx, b.tx)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// countKeys counts sale_keys: once at open, and after a failed commit.
func countKeys(ctx context.Context, q querier) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT count(*) FROM sale_keys").Scan(&n)
	return n, err
}

// exec runs a statement and returns how many rows it changed.
func (b *batch) exec(ctx context.Context, query string, args ...any) (int, error) {
	res, err := b.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// Keys implements store.Batch: every record kept for ids, read on the
// batch's connection after Since took the lock, so it has every other
// server's commit before this batch.
func (b *batch) Keys(ctx context.Context, ids []sale.KeyID) ([]sale.KeyRecord, error) {
	if !b.locked {
		return nil, errors.New("keys read without Since: the sale row is not locked")
	}
	scopes, names := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		scopes[i], names[i] = id.Scope, id.Key
	}
	rows, err := b.conn.Query(ctx, "SELECT scope, key, at, record FROM sale_keys WHERE (scope, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))", scopes, names)
	if err != nil {
		return nil, classify(err)
	}
	return scanKeys(rows)
}

// scanKeys reads key records and closes rows.
func scanKeys(rows pgx.Rows) ([]sale.KeyRecord, error) {
	defer rows.Close()
	var records []sale.KeyRecord
	for rows.Next() {
		var (
			id     sale.KeyID
			at     time.Time
			record string
		)
		if err := rows.Scan(&id.Scope, &id.Key, &at, &record); err != nil {
			return nil, classify(err)
		}
		r, err := store.DecodeKeyRecord(id, at, []byte(record))
		if err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	return records, classify(rows.Err())
}

// queueKeys queues the key records, then the forgetting of those that have
// expired by the newest one's time and, beyond maxKeys, of the oldest, so
// that the schema's keys are bounded as the rules' are. sale.keys, the
// number of rows, changes in the same statements as the rows, in the row
// this batch holds locked, so it stays exact without counting the table.
func (b *batch) queueKeys(q *pgx.Batch, keys []sale.KeyRecord) error {
	n := len(keys)
	scopes, names, ats, docs := make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n)
	for i, k := range keys {
		doc, err := store.EncodeKeyRecord(k)
		if err != nil {
			return err
		}
		scopes[i], names[i], ats[i], docs[i] = k.ID.Scope, k.ID.Key, k.At, string(doc)
	}
	queue(q, fmt.Sprintf("keep %d idempotency keys", n), nil,
		"INSERT INTO sale_keys (scope, key, at, record) SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])",
		scopes, names, ats, docs)
	// A statement of its own, after the insert: the statements of one WITH do not see each
	// other's rows, and this one counts the rows just inserted too.
	cutoff := store.KeyCutoff(keys, b.j.keyTTL)
	queue(q, fmt.Sprintf("forget the idempotency keys made at or before %v", cutoff), nil,
		`WITH gone AS (DELETE FROM sale_keys WHERE at <= $1 RETURNING 1)
		UPDATE sale SET keys = keys + $2 - (SELECT count(*) FROM gone) WHERE id = 1`,
		cutoff, int64(n))
	// Reads sale.keys as the statement before left it. The oldest are found
	// in the index on at and deleted by ctid (a row's place, which stays
	// put in one statement), a search each: a join on the primary key was
	// planned as a scan of the whole table, since the planner cannot tell
	// how many rows the limit lets through. Ties in time go in no
	// particular order.
	queue(q, fmt.Sprintf("forget the oldest idempotency keys beyond %d", b.j.maxKeys), nil,
		`WITH gone AS (
			DELETE FROM sale_keys WHERE ctid = ANY (ARRAY(
				SELECT ctid FROM sale_keys ORDER BY at
				LIMIT greatest((SELECT keys FROM sale WHERE id = 1) - $1, 0)
			)) RETURNING 1
		)
		UPDATE sale SET keys = keys - (SELECT count(*) FROM gone)
		WHERE id = 1 AND EXISTS (SELECT FROM gone)`,
		int64(b.j.maxKeys))
	return nil
}

package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the NOTIFY channel of the sale in schema: one per schema, so
// sales in other schemas of the database do not wake this one. Channel
// names are identifiers (at most 63 bytes); a long schema name is hashed.
func channel(schema string) string {
	name := "flashsale " + schema
	if len(name) > 63 {
		sum := sha256.Sum256([]byte(schema))
		name = "flashsale " + hex.EncodeToString(sum[:16])
	}
	return name
}

// watchRetry is how long Watch waits before listening again after it lost
// its connection.
const watchRetry = time.Second

// Watch implements store.Shared: it LISTENs on a connection of its own and
// reports the Seq each commit notifies. NOTIFY reaches only sessions that
// listen at that moment, so after (re)connecting it reports 0: the store
// then reads the head, catching up on whatever it missed meanwhile.
func (j *journal) Watch(ctx context.Context, changed func(seq uint64)) {
	for ctx.Err() == nil {
		j.listen(ctx, changed)
		select {
		case <-ctx.Done():
		case <-time.After(watchRetry):
		}
	}
}

// listen listens until its connection fails or ctx ends.
func (j *journal) listen(ctx context.Context, changed func(seq uint64)) {
	conn, err := pgx.ConnectConfig(ctx, j.pool.Config().ConnConfig)
	if err != nil {
		return
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{j.channel}.Sanitize()); err != nil {
		return
	}
	changed(0)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		seq, err := strconv.ParseUint(n.Payload, 10, 64)
		if err != nil {
			seq = 0
		}
		changed(seq)
	}
}

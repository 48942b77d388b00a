package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/pgtest"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/testkit"
)

// TestPostgresOutageUnderLoad: the cluster stops while shoppers reserve at
// full speed, so that some commits are in flight when it goes. Every 201
// and 202 must still be true when it is back, and a shopper answered only
// 503 must have nothing: "nothing was done" must hold for a commit whose
// answer the database never sent too. (The server finds out whether such a
// commit was made; only if it cannot does it say the change may have been
// made, and the ledger accepts either state for those shoppers.)
func TestPostgresOutageUnderLoad(t *testing.T) {
	cl := pgtest.NewCluster(t)
	bin := serverbin.Path(t)
	srv := testkit.StartProcess(t, bin, postgresArgs(cl.DSN(), "--inventory", "100000")...)
	client := shopperClient(t, 15*time.Second, &http.Transport{MaxIdleConnsPerHost: 16})
	l := newLedger(pgAdmin)

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		answered atomic.Int64
	)
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if code := l.reserve(t, client, srv.URL, fmt.Sprintf("w%02d-%05d", w, i)); code == http.StatusServiceUnavailable {
					time.Sleep(20 * time.Millisecond)
				} else {
					answered.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Second)
	before := answered.Load()
	cl.Stop(t)
	time.Sleep(2 * time.Second)
	cl.Start(t)
	deadline := time.Now().Add(recoverWithin)
	for n := answered.Load(); answered.Load() < n+100; {
		if time.Now().After(deadline) {
			t.Fatalf("no sales within %v of the cluster's return", recoverWithin)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d answered before the stop; in all %d holds, %d places in line, %d refused only, %d told the outcome is unknown", before, len(l.held), len(l.waiting), len(l.refused), len(l.unknown))
	l.verify(t, client, srv.URL, "after the outage under load")
}

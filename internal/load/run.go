package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// Books starts a fresh sale on the server, sends the load cfg describes,
// reads /status and checks the books exactly: every answer's ids are kept,
// so that holds can be confirmed and cancelled, repeats checked, and every
// place in line checked to be handed out once (what wrk cannot do; see the
// package doc). An error means the run could not be done (bad config,
// server unreachable, a request lost); violations of the books are in the
// result (see BooksResult.BooksErr), next to the figures.
func Books(ctx context.Context, cfg BooksConfig) (BooksResult, error) {
	if err := cfg.Check(); err != nil {
		return BooksResult{}, fmt.Errorf("books config: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.maxTime())
	defer cancel()
	urls := append([]string{cfg.URL}, cfg.MoreURLs...)
	cs := make([]*client, len(urls))
	for i, u := range urls {
		// Worker w talks to server w mod n: this is how many workers that
		// gives server i, each with a keep-alive connection of its own.
		conns := (cfg.Concurrency + len(urls) - 1 - i) / len(urls)
		var err error
		if cs[i], err = newClient(u, cfg.Token, conns); err != nil {
			return BooksResult{}, err
		}
		defer cs[i].close()
	}
	c := cs[0]

	if cfg.Warmup > 0 {
		if err := freshSale(ctx, c, cfg.Inventory); err != nil {
			return BooksResult{}, fmt.Errorf("warm-up: %w", err)
		}
		if _, err := storm(ctx, cs, cfg.Concurrency, "w", cfg.Warmup, 0, cfg.Mix); err != nil {
			return BooksResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	if err := freshSale(ctx, c, cfg.Inventory); err != nil {
		return BooksResult{}, err
	}

	cpu0, cpuOK := selfCPU()
	start := time.Now()
	t, err := storm(ctx, cs, cfg.Concurrency, "u", cfg.Duration, cfg.Requests, cfg.Mix)
	elapsed := time.Since(start)
	cpu1, _ := selfCPU()
	if err != nil {
		return BooksResult{}, err
	}
	st, err := c.status(ctx)
	if err != nil {
		return BooksResult{}, err
	}
	res := newBooksResult(cfg, t, elapsed, st)
	if cpuOK {
		res.ClientCPU = cpu1 - cpu0
	}
	res.Violations = checkBooks(t, cfg.Mix, cfg.Inventory, st)
	if len(cs) > 1 {
		// Every server answers reads after catching up on the others'
		// commits, so with the load over, all must say the same.
		res.Statuses = []generated.Status{st}
		for _, o := range cs[1:] {
			ost, err := o.status(ctx)
			if err != nil {
				return BooksResult{}, fmt.Errorf("server %d: %w", len(res.Statuses)+1, err)
			}
			res.Statuses = append(res.Statuses, ost)
		}
		res.Violations = append(res.Violations, checkSameStatus(res.Statuses)...)
	}
	return res, nil
}

// checkSameStatus: every server sharing the sale reports what the first
// one does.
func checkSameStatus(sts []generated.Status) []string {
	var v []string
	for i, st := range sts[1:] {
		if st != sts[0] {
			v = append(v, fmt.Sprintf("server %d's /status %+v differs from server 1's %+v", i+2, st, sts[0]))
		}
	}
	return v
}

// storm runs the workers until the duration is over or limit new users
// have been sent, and merges what they saw. Worker i sends its requests
// through cs[i mod len(cs)]: with several servers on one sale, each gets an
// equal share of the connections (and of the requests, as far as the
// servers keep pace with each other), and a user's follow-ups go to the
// server that answered their first request.
func storm(ctx context.Context, cs []*client, workers int, prefix string, d time.Duration, limit int64, mix bool) (*tally, error) {
	s := &shared{prefix: prefix, mix: mix, limit: limit}
	if d > 0 {
		// Workers finish the request in flight and stop; cancelling it
		// instead would lose an answer the books need.
		timer := time.AfterFunc(d, func() { s.stop.Store(true) })
		defer timer.Stop()
	}
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{shared: s, c: cs[i%len(cs)], t: newTally()}
		ws[i] = w
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load run stopped before the end: %w", err)
	}
	if s.err != nil {
		return nil, s.err
	}
	total := newTally()
	for _, w := range ws {
		total.merge(w.t)
	}
	return total, nil
}

// ErrBooks is wrapped by BooksResult.BooksErr and by the wrk runs' books
// errors.
var ErrBooks = errors.New("books do not balance")

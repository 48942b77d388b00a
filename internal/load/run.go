package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Run starts a fresh sale on the server, sends the load cfg describes, reads
// /status and checks the books. An error means the run could not be done
// (bad config, server unreachable, a request lost); violations of the books
// are in the Result (see Result.BooksErr), next to the figures.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, fmt.Errorf("load config: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.maxTime())
	defer cancel()
	c, err := newClient(cfg.URL, cfg.Token, cfg.Concurrency)
	if err != nil {
		return Result{}, err
	}
	defer c.close()

	if cfg.Warmup > 0 {
		if _, err := c.initialize(ctx, cfg.Inventory); err != nil {
			return Result{}, fmt.Errorf("warm-up: %w", err)
		}
		if _, err := storm(ctx, c, cfg.Concurrency, "w", cfg.Warmup, 0, cfg.Mix); err != nil {
			return Result{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	st, err := c.initialize(ctx, cfg.Inventory)
	if err != nil {
		return Result{}, err
	}
	if st.TotalInventory != cfg.Inventory || st.Available != cfg.Inventory || st.Held+st.Confirmed+st.WaitlistSize != 0 {
		return Result{}, fmt.Errorf("initialize %d units: a fresh sale should be all available, got %+v", cfg.Inventory, st)
	}

	done := func() {}
	if cfg.measuring != nil {
		done = cfg.measuring()
	}
	cpu0, cpuOK := selfCPU()
	start := time.Now()
	t, err := storm(ctx, c, cfg.Concurrency, "u", cfg.Duration, cfg.Requests, cfg.Mix)
	elapsed := time.Since(start)
	cpu1, _ := selfCPU()
	done()
	if err != nil {
		return Result{}, err
	}
	if st, err = c.status(ctx); err != nil {
		return Result{}, err
	}
	res := newResult(cfg, t, elapsed, st)
	if cpuOK {
		res.ClientCPU = cpu1 - cpu0
	}
	res.Violations = checkBooks(t, cfg.Mix, cfg.Inventory, st)
	return res, nil
}

// storm runs the workers until the duration is over or limit new users
// have been sent, and merges what they saw.
func storm(ctx context.Context, c *client, workers int, prefix string, d time.Duration, limit int64, mix bool) (*tally, error) {
	s := &shared{c: c, prefix: prefix, mix: mix, limit: limit}
	if d > 0 {
		// Workers finish the request in flight and stop; cancelling it
		// instead would lose an answer the books need.
		timer := time.AfterFunc(d, func() { s.stop.Store(true) })
		defer timer.Stop()
	}
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{shared: s, t: newTally()}
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

// ErrBooks is wrapped by Result.BooksErr.
var ErrBooks = errors.New("books do not balance")

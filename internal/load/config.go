// Package load drives a flash sale over HTTP the way a sale's opening second
// does, measures how fast the server answers, and then checks the books: that
// not one unit was oversold and every waiting place was handed out once.
//
// It also holds the baseline server (the fastest correct answer to the same
// request on the same machine) and the comparison that runs both under the
// same load, one after the other, as separate processes: with its own
// generator (Compare) or with wrk, a generator that is not this project's
// (WrkCompare).
package load

import (
	"errors"
	"fmt"
	"time"
)

// Config is one load run against one server.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// MoreURLs are further servers sharing one sale with URL's (several
	// flashsale servers on one database). The workers' connections are
	// spread over URL and these, round-robin by connection; the sale is
	// initialized through URL, and afterwards every server's /status must
	// equal URL's.
	MoreURLs []string
	// Token is the admin bearer token for POST /initialize.
	Token string
	// Inventory is the total_inventory the run starts the sale with.
	Inventory int64
	// Concurrency is the number of workers, each with its own keep-alive
	// connection.
	Concurrency int
	// Duration bounds the run in time; Requests bounds it in new-user
	// reservations. Exactly one of them is set.
	Duration time.Duration
	Requests int64
	// Warmup, when set, runs the same load this long first and then starts
	// a fresh sale, so that the measured run does not pay for connection
	// set-up and the first heap growth.
	Warmup time.Duration
	// Mix adds follow-ups to the stream of new users: every fourth hold is
	// confirmed, every fourth cancelled, every fourth reserved again (which
	// must be refused), and every fourth waiting user asks again (which must
	// not give them a second place).
	Mix bool
	// MaxTime aborts a run that has not finished by then; zero means
	// Duration+Warmup+30s, or 5 minutes for a run bounded by Requests.
	MaxTime time.Duration

	// measuring, when set, is called as the measured run starts and with
	// the start's answer once it ends: Compare reads the server's CPU time
	// and takes its profile there.
	measuring func() (done func())
}

func (c Config) validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("a server URL is required"))
	}
	for i, u := range c.MoreURLs {
		if u == "" {
			errs = append(errs, fmt.Errorf("server %d's URL is empty", i+2))
		}
	}
	if n := 1 + len(c.MoreURLs); c.Concurrency >= 1 && c.Concurrency < n {
		errs = append(errs, fmt.Errorf("concurrency %d is below the %d servers: each needs a connection", c.Concurrency, n))
	}
	if c.Inventory < 0 {
		errs = append(errs, fmt.Errorf("inventory %d is negative", c.Inventory))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d is below 1", c.Concurrency))
	}
	if (c.Duration > 0) == (c.Requests > 0) {
		errs = append(errs, errors.New("set exactly one of duration and requests"))
	}
	if c.Duration < 0 || c.Requests < 0 || c.Warmup < 0 || c.MaxTime < 0 {
		errs = append(errs, errors.New("duration, requests, warmup and max time must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) maxTime() time.Duration {
	switch {
	case c.MaxTime > 0:
		return c.MaxTime
	case c.Duration > 0:
		return c.Duration + c.Warmup + 30*time.Second
	}
	return c.Warmup + 5*time.Minute
}

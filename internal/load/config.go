package load

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// BooksConfig is one books run against one running server, or several that
// share one sale.
type BooksConfig struct {
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
}

// Check says what is wrong with the configuration, nil when nothing is: a
// mistake of whoever wrote it, found before any request is sent.
func (c BooksConfig) Check() error {
	var errs []error
	for i, u := range append([]string{c.URL}, c.MoreURLs...) {
		if err := checkServerURL(u); err != nil {
			errs = append(errs, fmt.Errorf("server %d: %w", i+1, err))
		}
	}
	if c.Token == "" {
		errs = append(errs, errors.New("an admin token is required, to start the sale"))
	}
	if c.Inventory < 0 {
		errs = append(errs, fmt.Errorf("inventory %d is negative", c.Inventory))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d is below 1", c.Concurrency))
	} else if n := 1 + len(c.MoreURLs); c.Concurrency < n {
		errs = append(errs, fmt.Errorf("concurrency %d is below the %d servers: each needs a connection", c.Concurrency, n))
	}
	if (c.Duration > 0) == (c.Requests > 0) {
		errs = append(errs, errors.New("set exactly one of duration and requests"))
	}
	if c.Duration < 0 || c.Requests < 0 || c.Warmup < 0 || c.MaxTime < 0 {
		errs = append(errs, errors.New("duration, requests, warmup and max time must not be negative"))
	}
	return errors.Join(errs...)
}

// checkServerURL accepts http://host:port with nothing after the path.
func checkServerURL(raw string) error {
	if raw == "" {
		return errors.New("no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse server URL: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("server URL %q: want http://host:port", raw)
	}
	return nil
}

func (c BooksConfig) maxTime() time.Duration {
	switch {
	case c.MaxTime > 0:
		return c.MaxTime
	case c.Duration > 0:
		return c.Duration + c.Warmup + 30*time.Second
	}
	return c.Warmup + 5*time.Minute
}

package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flashsale/flashsale/internal/load"
)

func booksCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var c load.BooksConfig
	var urls []string
	fs := newCommand("books", "--token T [--url URL ...] [flags]",
		"Drives running servers that share one sale (a single server, or several on one database) with new\n"+
			"users, one worker per keep-alive connection, keeping every id it is given; with --mix, confirms,\n"+
			"cancels and repeat reserves as well. Then it checks the books exactly: no unit oversold, every\n"+
			"place in line handed out once, every follow-up answered as it must be, and every server's\n"+
			"GET /status the same. Books that do not balance exit 1. It starts a fresh sale first\n"+
			"(POST /initialize with reset: everything on the sale is dropped). Every user is new and comes\n"+
			"from this one address, and every follow-up carries the shopper_token the user's first reserve\n"+
			"answered: start the servers with --rate-limit 0 --new-shopper-rate 0, or their limits refuse\n"+
			"most of the users (a 429 is a violation).")
	fs.Func("url", "a server's base `URL` (default http://127.0.0.1:8080); repeat it for servers sharing the sale, over which the connections are spread round-robin (the sale is initialized through the first)", func(s string) error {
		urls = append(urls, s)
		return nil
	})
	fs.StringVar(&c.Token, "token", getenv("FLASHSALE_ADMIN_TOKEN"), "admin bearer token, for POST /initialize (default $FLASHSALE_ADMIN_TOKEN; required)")
	fs.Int64Var(&c.Inventory, "inventory", 1000, "units the sale starts with")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "concurrent workers, one keep-alive connection each")
	fs.DurationVar(&c.Duration, "duration", 0, "run this long (default 10s when --requests is not set)")
	fs.Int64Var(&c.Requests, "requests", 0, "send this many new users instead of running for a duration")
	fs.DurationVar(&c.Warmup, "warmup", 0, "run this long first, then start a fresh sale")
	fs.BoolVar(&c.Mix, "mix", false, "add confirms, cancels and repeat reservations")
	fs.DurationVar(&c.MaxTime, "max-time", 0, "abort a run that takes longer (default: duration + warmup + 30s, or 5m)")
	if help, err := fs.parse(args, stdout); help || err != nil {
		return err
	}
	if len(urls) == 0 {
		urls = []string{"http://127.0.0.1:8080"}
	}
	c.URL, c.MoreURLs = urls[0], urls[1:]
	if c.Duration == 0 && c.Requests == 0 {
		c.Duration = 10 * time.Second
	}
	if err := fs.checked(c.Check()); err != nil {
		return err
	}
	res, err := load.Books(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== %s\n", strings.Join(urls, ", "))
	res.Print(stdout)
	return res.BooksErr()
}

package cli_test

import (
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/flashsale/flashsale/internal/cli"
)

// The exit status is part of the command's interface: scripts and service
// managers read it.
func TestOutcome(t *testing.T) {
	cases := []struct {
		name string
		err  error
		line string
		code int
	}{
		{"served and stopped", nil, "", 0},
		{"-h", flag.ErrHelp, "", 0},
		{"a mistake in the configuration", cli.Usage(errors.New(`-inventory "x": want a whole number`)),
			`flashsale: -inventory "x": want a whole number (see --help)`, 2},
		{"a wrapped mistake", fmt.Errorf("start: %w", cli.Usage(errors.New("unexpected argument \"x\""))),
			`flashsale: start: unexpected argument "x" (see --help)`, 2},
		{"a failure", errors.New("listen: address already in use"), "flashsale: listen: address already in use", 1},
		{"a failure of several lines", errors.New("wrk: exit 1\nits output\n"), "flashsale: wrk: exit 1; its output", 1},
		{"a mistake of several lines", cli.Usage(errors.New("wrk: a\nb")), "flashsale: wrk: a; b (see --help)", 2},
		{"a store that cannot open", errors.New("open sale database /x/sale.db: its folder /x does not exist"),
			"flashsale: open sale database /x/sale.db: its folder /x does not exist", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line, code := cli.Outcome("flashsale", c.err)
			if line != c.line || code != c.code {
				t.Errorf("Outcome(%v) = %q, %d; want %q, %d", c.err, line, code, c.line, c.code)
			}
		})
	}
}

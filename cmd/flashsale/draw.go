package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flashsale/flashsale/internal/cli"
	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
)

// drawUsage is `flashsale draw -h`.
const drawUsage = `Usage: flashsale draw --seed HEX --entrants FILE [--commitment HEX]

Recomputes a sale's draw: prints its entrants in drawn order, one user id a
line, the first served first. The order is the entrants sorted by
HMAC-SHA256(seed, user id), smallest first (docs/design.md).

  --seed HEX        the draw's seed, draw_seed of GET /status (64 hex digits)
  --entrants FILE   the entrants, one user id a line, in any order
                    (GET /draw/entrants); - reads standard input
  --commitment HEX  draw_commitment as published before the opening: the
                    seed is refused unless its SHA-256 is this
`

// runDraw is `flashsale draw`: it needs no server, only what the sale
// published, so that anyone can check a draw.
func runDraw(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("flashsale draw", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seedHex := fs.String("seed", "", "")
	file := fs.String("entrants", "", "")
	commitment := fs.String("commitment", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, drawUsage)
			return err
		}
		return cli.Usage(err)
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usagef("draw takes no arguments, got %q", fs.Args())
	case *seedHex == "":
		return cli.Usagef("draw needs --seed, the draw_seed GET /status reveals at the opening")
	case *file == "":
		return cli.Usagef("draw needs --entrants, a file of user ids one a line (GET /draw/entrants)")
	}
	seed, err := sale.ParseSeed(*seedHex)
	if err != nil {
		return cli.Usage(err)
	}
	if c, err := hex.DecodeString(*commitment); *commitment != "" && (err != nil || len(c) != sha256.Size) {
		// A malformed commitment is a mistake in the call, not a draw that
		// fails its check.
		return cli.Usagef("--commitment %q is not a SHA-256 in hex (%d hex digits), as draw_commitment of GET /status is", *commitment, 2*sha256.Size)
	}
	if *commitment != "" && !strings.EqualFold(*commitment, sale.Commitment(seed)) {
		return fmt.Errorf("the seed's SHA-256 is %s, not the commitment %s: this is not the seed that was committed to", sale.Commitment(seed), *commitment)
	}
	in := stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return cli.Usage(err)
		}
		defer f.Close()
		in = f
	}
	entrants, err := readEntrants(in, *file)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	for _, id := range sale.DrawOrder(seed, entrants) {
		out.WriteString(id)
		out.WriteByte('\n')
	}
	return out.Flush()
}

// readEntrants reads one user id a line. A line that is no user id, or an
// id listed twice, is refused with its line number: a list that is not the
// sale's cannot check its draw. Blank lines and a final CR are ignored.
func readEntrants(in io.Reader, name string) ([]string, error) {
	var ids []string
	seen := make(map[string]int)
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		id := strings.TrimSuffix(sc.Text(), "\r")
		if id == "" {
			continue
		}
		if err := httpapi.ValidUserID(id); err != nil {
			return nil, cli.Usagef("%s line %d: %q is not a user id: %v", name, n, id, err)
		}
		if first, ok := seen[id]; ok {
			return nil, cli.Usagef("%s line %d: %s is listed already, on line %d", name, n, id, first)
		}
		seen[id] = n
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ids, nil
}

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/serverbin"
)

// `flashsale draw`, the real binary: what anyone with a sale's revealed
// seed and its entrant list runs to check its draw (issue 26).

// vectorSeed is the test vector of docs/design.md: the bytes 0 to 31.
const vectorSeed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// drawRun is one run of `flashsale draw`.
type drawRun struct {
	stdout, stderr string
	code           int
}

// runDrawBin runs bin draw with args, stdin from stdin ("" for none).
func runDrawBin(t *testing.T, bin, stdin string, args ...string) drawRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"draw"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errOut, strings.NewReader(stdin)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
	default:
		t.Fatalf("run %s draw: %v", bin, err)
	}
	return drawRun{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
}

// drawnOrder runs bin draw over entrants (written to a file, one a line)
// and returns the order it prints; anything but exit 0 with nothing on
// stderr fails t.
func drawnOrder(t *testing.T, bin, seed, commitment string, entrants []string) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "entrants.txt")
	if err := os.WriteFile(file, []byte(strings.Join(entrants, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--seed", seed, "--entrants", file}
	if commitment != "" {
		args = append(args, "--commitment", commitment)
	}
	r := runDrawBin(t, bin, "", args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("flashsale draw %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return lines(r.stdout)
}

// lines splits text of one item a line, each ended by a newline.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// hmacOrder is the draw as docs/design.md states it, written here apart
// from the code under test: ids sorted by HMAC-SHA256(seed, id) as
// big-endian numbers, smallest first.
func hmacOrder(t *testing.T, seedHex string, ids []string) []string {
	t.Helper()
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		t.Fatalf("seed %q: %v", seedHex, err)
	}
	key := make(map[string][]byte, len(ids))
	for _, id := range ids {
		m := hmac.New(sha256.New, seed)
		m.Write([]byte(id))
		key[id] = m.Sum(nil)
	}
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b string) int { return bytes.Compare(key[a], key[b]) })
	return out
}

func sha256Hex(hexBytes string) string {
	b, err := hex.DecodeString(hexBytes)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The test vector: the bytes 0..31 as the seed, over alice, bob, carol and
// dave in any order, draw alice, carol, bob, dave; computed here with
// crypto/hmac too, so that the vector is pinned by the documented function
// and not only by the code under test.
func TestDrawTestVector(t *testing.T) {
	// The keys docs/design.md lists, HMAC-SHA256(seed, id).
	seed, _ := hex.DecodeString(vectorSeed)
	for id, key := range map[string]string{
		"alice": "6eefad2bed97b6d93ee663d67a44b46016b3d79dcad54ada39b61a1d14874d1b",
		"bob":   "928931744d17c7eea7df47260a5a0fc767423d5e6d5e716c8b1209f29ecf4527",
		"carol": "810641e3c31c71c97587b05fb9db25b7ef90a9888f3d83877d0d0cf0478359d3",
		"dave":  "d0953a2c559213fad9f580e2cb84baa74f1fd401c7c2a245bfcd4512b55c6a16",
	} {
		m := hmac.New(sha256.New, seed)
		m.Write([]byte(id))
		if got := hex.EncodeToString(m.Sum(nil)); got != key {
			t.Errorf("HMAC-SHA256(seed, %s) = %s; docs/design.md says %s", id, got, key)
		}
	}
	if got, want := sha256Hex(vectorSeed), "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"; got != want {
		t.Errorf("the vector's commitment is %s; docs/design.md says %s", got, want)
	}
	want := []string{"alice", "carol", "bob", "dave"}
	if got := hmacOrder(t, vectorSeed, []string{"dave", "bob", "alice", "carol"}); !slices.Equal(got, want) {
		t.Fatalf("HMAC-SHA256 order of the vector: %q, want %q", got, want)
	}
	bin := serverbin.Path(t)
	if got := drawnOrder(t, bin, vectorSeed, "", []string{"dave", "bob", "alice", "carol"}); !slices.Equal(got, want) {
		t.Fatalf("flashsale draw: %q, want %q", got, want)
	}
	if got := drawnOrder(t, bin, vectorSeed, sha256Hex(vectorSeed), []string{"carol", "alice", "dave", "bob"}); !slices.Equal(got, want) {
		t.Fatalf("flashsale draw --commitment: %q, want %q", got, want)
	}
	// Standard input, with a CRLF line and a blank line, as an export
	// saved on another system may have them.
	r := runDrawBin(t, bin, "bob\r\n\ndave\nalice\ncarol", "--seed", vectorSeed, "--entrants", "-")
	if r.code != 0 || r.stderr != "" || r.stdout != "alice\ncarol\nbob\ndave\n" {
		t.Fatalf("flashsale draw --entrants -: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The seed in capitals is the same seed.
	if got := drawnOrder(t, bin, strings.ToUpper(vectorSeed), "", want); !slices.Equal(got, want) {
		t.Fatalf("flashsale draw with the seed in capitals: %q", got)
	}
}

// A mistake in how draw is called, or a list that cannot be a sale's
// entrants, is one line on stderr and exit 2; a seed that is not the one
// committed to is exit 1: the call was right, the draw does not check.
// Nothing is printed on stdout either way: a partial order would pass for
// one.
func TestDrawRefusesBadInput(t *testing.T) {
	bin := serverbin.Path(t)
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.txt", "alice\nbob\n")
	long := strings.Repeat("x", 129)
	for _, c := range []struct {
		name  string
		args  []string
		code  int
		about string // what the line must mention
	}{
		{"no flags", nil, 2, "--seed"},
		{"no --entrants", []string{"--seed", vectorSeed}, 2, "--entrants"},
		{"no --seed", []string{"--entrants", good}, 2, "--seed"},
		{"a seed that is not hex", []string{"--seed", strings.Repeat("zz", 32), "--entrants", good}, 2, "hex"},
		{"a seed of 31 bytes", []string{"--seed", vectorSeed[2:], "--entrants", good}, 2, "32"},
		{"a seed of 33 bytes", []string{"--seed", vectorSeed + "20", "--entrants", good}, 2, "32"},
		{"an unknown flag", []string{"--seed", vectorSeed, "--entrants", good, "--shuffle"}, 2, "shuffle"},
		{"an argument", []string{"--seed", vectorSeed, "--entrants", good, "extra"}, 2, "extra"},
		{"no such file", []string{"--seed", vectorSeed, "--entrants", filepath.Join(dir, "missing.txt")}, 2, "missing.txt"},
		{"an id twice", []string{"--seed", vectorSeed, "--entrants", file("dup.txt", "alice\nbob\nalice\n")}, 2, "line 3"},
		{"an id twice, once with CR", []string{"--seed", vectorSeed, "--entrants", file("dupcr.txt", "alice\r\nbob\nalice\n")}, 2, "line 3"},
		{"an id with a space", []string{"--seed", vectorSeed, "--entrants", file("space.txt", "alice\nbob smith\n")}, 2, "line 2"},
		{"an id of dots", []string{"--seed", vectorSeed, "--entrants", file("dots.txt", "..\n")}, 2, "line 1"},
		{"an id too long", []string{"--seed", vectorSeed, "--entrants", file("long.txt", "alice\n"+long+"\n")}, 2, "line 2"},
		{"a commitment that is not the seed's", []string{"--seed", vectorSeed, "--entrants", good, "--commitment", sha256Hex("00")}, 1, "commitment"},
		{"a commitment that is not hex", []string{"--seed", vectorSeed, "--entrants", good, "--commitment", "not-a-hash"}, 2, "commitment"},
		{"a commitment of 31 bytes", []string{"--seed", vectorSeed, "--entrants", good, "--commitment", sha256Hex(vectorSeed)[2:]}, 2, "commitment"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runDrawBin(t, bin, "", c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, c.code, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if !strings.HasPrefix(r.stderr, "flashsale: ") || !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting flashsale:", r.stderr)
			}
			if !strings.Contains(r.stderr, c.about) {
				t.Errorf("stderr %q does not mention %q", r.stderr, c.about)
			}
		})
	}
}

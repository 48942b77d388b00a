package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/serverbin"
	"github.com/flashsale/flashsale/internal/store/sqlite"
	"github.com/flashsale/flashsale/internal/testkit"
	_ "modernc.org/sqlite" // database/sql driver, to make other programs' files
)

// A --db that cannot work must stop the start at once, with one line that
// names the file and says what is wrong, and leave what it found as it
// found it: an operator reads that line in a terminal or a unit's journal,
// and flashsale must never "repair" a file that is not its own.
func TestDBFileRejectedAtStart(t *testing.T) {
	type setup func(t *testing.T) (args []string, after func(t *testing.T))
	cases := []struct {
		name  string
		setup setup
		want  []string // what the line must say, besides the path
	}{
		{"missing folder", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "nope", "sale.db")
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"nope", "does not exist"}},

		{"path is a folder", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "sales")
			mkdir(t, db)
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"is a folder", filepath.Join("sales", "sale.db")}},

		{"sqlite without --db", func(t *testing.T) ([]string, func(*testing.T)) {
			return []string{"--store", "sqlite"}, func(*testing.T) {}
		}, []string{"-store sqlite needs -db"}},

		{"--db with the memory store", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			return []string{"--store", "memory", "--db", filepath.Join(dir, "sale.db")}, unchanged(t, dir)
		}, []string{"-db is only for -store sqlite"}},

		{"random bytes", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "sale.db")
			junk := bytes.Repeat([]byte{0x9e, 0x37, 0x79, 0xb9, 0x7f, 0x4a, 0x7c, 0x15}, 2048)
			writeFile(t, db, junk)
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"not a SQLite database"}},

		{"text file", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "notes.txt")
			writeFile(t, db, []byte("remember: the sale starts at noon\n"))
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"not a SQLite database"}},

		{"another program's database", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "shop.db")
			execSQL(t, db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)", "INSERT INTO orders (item) VALUES ('kettle')")
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"another program", "a file of its own"}},

		{"another program's marked database", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "other.db")
			execSQL(t, db, "PRAGMA application_id = 42")
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"another program", "0x2a"}},

		{"schema of a newer flashsale", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := t.TempDir()
			db := filepath.Join(dir, "sale.db")
			makeSale(t, db)
			// goose records each applied migration in goose_db_version.
			execSQL(t, db, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)")
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"schema is version 9999", "newer flashsale"}},

		{"in use by another process", func(t *testing.T) ([]string, func(*testing.T)) {
			db := filepath.Join(t.TempDir(), "sale.db")
			holder, err := sqlite.Open(t.Context(), db, sale.Config{HoldTTL: time.Hour})
			if err != nil {
				t.Fatalf("open the file first: %v", err)
			}
			t.Cleanup(func() { holder.Close() })
			if _, err := sale.Initialize(t.Context(), holder, 3, false); err != nil {
				t.Fatal(err)
			}
			return sqliteArgs(db), func(t *testing.T) {
				// The refused start did not disturb the owner.
				if _, err := sale.Reserve(t.Context(), holder, "after-refusal"); err != nil {
					t.Errorf("the process that has the file cannot write it any more: %v", err)
				}
			}
		}, []string{"another process has it open", "sale.db-lock"}},

		{"read-only file", func(t *testing.T) ([]string, func(*testing.T)) {
			db := filepath.Join(t.TempDir(), "sale.db")
			makeSale(t, db)
			readOnlyBind(t, db)
			before := digest(t, db)
			return sqliteArgs(db), func(t *testing.T) {
				if after := digest(t, db); after != before {
					t.Errorf("the read-only file changed")
				}
			}
		}, []string{"cannot be written", "read-only"}},

		{"read-only folder", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := mountTmpfs(t, "1m")
			db := filepath.Join(dir, "sale.db")
			makeSale(t, db)
			remountReadOnly(t, dir)
			return sqliteArgs(db), unchanged(t, dir)
		}, []string{"cannot be written", "read-only file system"}},

		{"full disk, new file", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := mountTmpfs(t, "1m")
			fillDisk(t, dir, 0)
			return sqliteArgs(filepath.Join(dir, "sale.db")), func(*testing.T) {}
		}, []string{"disk", "full"}},

		{"full disk, existing sale", func(t *testing.T) ([]string, func(*testing.T)) {
			dir := mountTmpfs(t, "1m")
			db := filepath.Join(dir, "sale.db")
			makeSale(t, db)
			before := digest(t, db)
			fillDisk(t, dir, 0)
			return sqliteArgs(db), func(t *testing.T) {
				if after := digest(t, db); after != before {
					t.Errorf("the sale's file changed")
				}
			}
		}, []string{"disk", "full"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args, after := c.setup(t)
			msg := startFails(t, args)
			t.Logf("flashsale: %s", msg)
			// A SQLite start names its file; a misconfiguration has none.
			if db := argValue(args, "--db"); argValue(args, "--store") == "sqlite" && db != "" && !strings.Contains(msg, db) {
				t.Errorf("the message does not name the file %s: %q", db, msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message does not say %q: %q", w, msg)
				}
			}
			readsWell(t, msg)
			after(t)
		})
	}
}

// sqliteArgs asks for the SQLite store kept in db.
func sqliteArgs(db string) []string {
	return []string{"--store", "sqlite", "--db", db}
}

func argValue(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// startFails runs the server, expects it to give up before serving, and
// returns the line it prints after "flashsale: ".
func startFails(t *testing.T, args []string) string {
	t.Helper()
	bin := serverbin.Path(t)
	began := time.Now()
	srv := testkit.SpawnProcess(t, bin, append([]string{"--admin-token", "t"}, args...)...)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Since(began) < 10*time.Second && len(srv.Logged("listening")) == 0 {
		select {
		case <-srv.Exited():
			if srv.Err() == nil {
				t.Fatalf("flashsale %q exited 0", args)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("flashsale took %v to refuse the file", took)
			}
			return strings.TrimPrefix(strings.TrimSuffix(srv.Stderr(), "\n"), "flashsale: ")
		case <-tick.C:
		}
	}
	srv.Stop(t)
	t.Fatalf("flashsale %q started serving instead of refusing (it exited with %v once stopped); its log:\n%s", args, srv.Err(), srv.LogText())
	return ""
}

// readsWell fails for a message an operator cannot act on at a glance:
// several lines, or a bare code such as SQLite's "(26)", or a formatting
// slip.
func readsWell(t *testing.T, msg string) {
	t.Helper()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("the message is more than one line: %q", msg)
	}
	if bareCode.MatchString(msg) {
		t.Errorf("the message shows a bare code: %q", msg)
	}
	for _, noise := range []string{"%!", "<nil>", "errno", "SQLITE_"} {
		if strings.Contains(msg, noise) {
			t.Errorf("the message contains %q: %q", noise, msg)
		}
	}
}

var bareCode = regexp.MustCompile(`\(\d+\)`)

// unchanged snapshots dir now and returns a check that it is the same
// later: the same names, the same bytes.
func unchanged(t *testing.T, dir string) func(*testing.T) {
	t.Helper()
	before := tree(t, dir)
	return func(t *testing.T) {
		t.Helper()
		after := tree(t, dir)
		for name, d := range before {
			if after[name] != d {
				t.Errorf("%s changed or went away", name)
			}
		}
		for name := range after {
			if _, ok := before[name]; !ok {
				t.Errorf("%s was created", name)
			}
		}
	}
}

// tree maps every name under dir to a digest of its content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			out[rel] = "folder"
			return nil
		}
		out[rel] = digest(t, path)
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", dir, err)
	}
	return out
}

func digest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// execSQL runs statements on path as a program other than flashsale would:
// plain database/sql, none of flashsale's settings.
func execSQL(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s on %s: %v", s, path, err)
		}
	}
}

// makeSale leaves a flashsale file at path with a sale in it, closed.
func makeSale(t *testing.T, path string) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, sale.Config{HoldTTL: time.Hour})
	if err != nil {
		t.Fatalf("make a sale: %v", err)
	}
	if _, err := sale.Initialize(t.Context(), s, 3, false); err != nil {
		t.Fatalf("make a sale: %v", err)
	}
	if _, err := sale.Reserve(t.Context(), s, "alice"); err != nil {
		t.Fatalf("make a sale: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("make a sale: close: %v", err)
	}
}

// syncBuffer is a bytes.Buffer that run's goroutines may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Mounts. A read-only file and a full disk cannot be faked for root, which
// writes through permissions; CI runs as root, so these tests mount. Where
// mounting is not permitted they skip, unless FLASHSALE_REQUIRE_ROOT_TESTS=1
// says this run must cover them.

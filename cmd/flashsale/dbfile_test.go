package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver, to make other programs' files

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store/sqlite"
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
			if _, err := holder.Initialize(t.Context(), 3, false); err != nil {
				t.Fatal(err)
			}
			return sqliteArgs(db), func(t *testing.T) {
				// The refused start did not disturb the owner.
				if _, err := holder.Reserve(t.Context(), "after-refusal"); err != nil {
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

// startFails runs the command, expects it to give up before serving, and
// returns the line main would print after "flashsale: ".
func startFails(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	began := time.Now()
	go func() {
		done <- run(ctx, append([]string{"--addr", "127.0.0.1:0", "--admin-token", "t"}, args...), func(string) string { return "" }, &logs)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Since(began) < 10*time.Second {
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("run(%q) returned no error", args)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("run took %v to refuse the file", took)
			}
			return err.Error()
		case <-tick.C:
		}
		if strings.Contains(logs.String(), `"msg":"listening"`) {
			break
		}
	}
	cancel()
	select {
	case err := <-done:
		t.Fatalf("run(%q) started serving instead of refusing (it returned %v once stopped); its log:\n%s", args, err, logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("run(%q) neither refused nor stopped", args)
	}
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
	if _, err := s.Initialize(t.Context(), 3, false); err != nil {
		t.Fatalf("make a sale: %v", err)
	}
	if _, err := s.Reserve(t.Context(), "alice"); err != nil {
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

func cannotMount(t *testing.T, what string, err error, out []byte) {
	t.Helper()
	msg := fmt.Sprintf("%s: %v: %s", what, err, strings.Join(strings.Fields(string(out)), " "))
	if os.Getenv("FLASHSALE_REQUIRE_ROOT_TESTS") == "1" {
		t.Fatalf("%s (FLASHSALE_REQUIRE_ROOT_TESTS=1, so this test must run: run it as root)", msg)
	}
	t.Skipf("%s; this test mounts file systems and needs root (set FLASHSALE_REQUIRE_ROOT_TESTS=1 to fail instead of skipping)", msg)
}

// mountTmpfs mounts a tmpfs of the given size on a fresh folder, unmounted
// when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		cannotMount(t, "mount a tmpfs", err, out)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// readOnlyBind makes the file at path read-only, for root too, by mounting
// it read-only over itself; its folder stays writable.
func readOnlyBind(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command("mount", "--bind", path, path).CombinedOutput(); err != nil {
		cannotMount(t, "bind-mount "+path, err, out)
	}
	t.Cleanup(func() { unmount(t, path) })
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", path).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", path, err, bytes.TrimSpace(out))
	}
}

func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", dir, err, bytes.TrimSpace(out))
	}
}

// unmount detaches lazily if something still has a file open there (a
// server that failed to stop), so that the folder can be removed anyway.
func unmount(t *testing.T, dir string) {
	t.Helper()
	if exec.Command("umount", dir).Run() == nil {
		return
	}
	if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
		t.Errorf("unmount %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
}

// fillDisk writes a filler file in dir until the file system is full, then
// gives back slack bytes, and returns the filler's path.
func fillDisk(t *testing.T, dir string, slack int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("create the filler: %v", err)
	}
	defer f.Close()
	chunk := make([]byte, 256<<10)
	var size int64
	for i := 0; ; i++ {
		if i == 1<<14 { // 4 GiB: not the tiny file system this was meant for
			t.Fatalf("%s is not full after %d bytes", dir, size)
		}
		n, err := f.Write(chunk)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatalf("fill %s: %v", dir, err)
		}
	}
	if slack > 0 {
		if err := f.Truncate(max(size-slack, 0)); err != nil {
			t.Fatalf("give back %d bytes: %v", slack, err)
		}
	}
	return path
}

// TestDiskFullAnswers503AndRecovers runs the real server on a small tmpfs and
// fills it while shoppers reserve: each change the disk refuses must be a
// 503 problem with Retry-After, never a 201 or 202 for something that was
// not written; reads must still be answered; freeing space must bring the
// sale back by itself; and a restart must find every acknowledged answer.
func TestDiskFullAnswers503AndRecovers(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	db := filepath.Join(dir, "sale.db")
	args := []string{"--store", "sqlite", "--db", db, "--admin-token", "t", "--rate-limit", "0", "--hold-ttl", "1h"}
	s := start(t, append(args, "--inventory", "40"), nil)
	client := &http.Client{Timeout: 15 * time.Second}
	l := newLedger()

	// Some holds before the disk fills, then the last few kilobytes go to
	// shoppers arriving together, so that the disk runs out within a group
	// commit, while holds are still granted and once the line has begun.
	for i := range 30 {
		l.reserve(t, client, s.url, fmt.Sprintf("early-%02d", i))
	}
	if len(l.refused) > 0 {
		t.Fatalf("a reserve failed before the disk was filled: %v", l.refused)
	}
	filler := fillDisk(t, dir, 48<<10)

	const workers, perWorker = 8, 250
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
		once sync.Once
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				select {
				case <-stop:
					return
				default:
				}
				if l.reserve(t, client, s.url, fmt.Sprintf("crowd-%d-%03d", w, i)) == http.StatusServiceUnavailable && l.refusals() >= 50 {
					once.Do(func() { close(stop) })
				}
			}
		})
	}
	wg.Wait()
	t.Logf("while the disk filled: %d holds, %d places in line, %d refused", len(l.held), len(l.waiting), len(l.refused))
	if len(l.refused) == 0 {
		t.Fatalf("%d reserves and the disk never filled up: nothing was tested", workers*perWorker)
	}
	select {
	case err := <-s.done:
		t.Fatalf("the server stopped when the disk filled: %v", err)
	default:
	}
	// The operator learns why from the log.
	if line := s.logged("store unavailable"); line == nil {
		t.Error("the refusals were not logged")
	} else if e, _ := line["err"].(string); !strings.Contains(e, "disk") {
		t.Errorf("the log does not say the disk is full: %v", line)
	} else {
		t.Logf("logged: %s", e)
	}

	// Reads are still answered while the disk is full: at worst 503 for a
	// Retry-After while the store rebuilds its state, then from it.
	if code, _ := get(t, s.url+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz with the disk full: %d", code)
	}
	poll(t, "a read with the disk full", func() (bool, string) {
		a, err := call(client, "GET", s.url+"/users/early-00", "")
		if err != nil {
			return false, err.Error()
		}
		if a.code == http.StatusServiceUnavailable {
			checkUnavailable(t, a)
		}
		return a.code == http.StatusOK, fmt.Sprintf("%d %v", a.code, a.body)
	})
	// A confirm is a change like any other: 503 unless it was written.
	for i := 1; i <= 5; i++ {
		l.confirm(t, client, s.url, fmt.Sprintf("early-%02d", i))
	}
	l.verify(t, client, s.url, "with the disk full")

	// Space comes back: after Retry-After, changes succeed again, without
	// a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n := 0
	poll(t, "a reserve once space is back", func() (bool, string) {
		n++
		code := l.reserve(t, client, s.url, fmt.Sprintf("later-%03d", n))
		return code == http.StatusCreated || code == http.StatusAccepted, strconv.Itoa(code)
	})
	for i := range 5 {
		if code := l.reserve(t, client, s.url, fmt.Sprintf("after-%d", i)); code != http.StatusCreated && code != http.StatusAccepted {
			t.Errorf("reserve after recovery: %d", code)
		}
	}
	if code := l.confirm(t, client, s.url, "early-06"); code != http.StatusOK {
		t.Errorf("confirm after recovery: %d", code)
	}
	l.verify(t, client, s.url, "after space came back")

	// Everything acknowledged is in the file.
	s.stop(t)
	s = start(t, args, nil)
	l.verify(t, client, s.url, "after a restart")
}

// ledger is what the server told the shoppers.
type ledger struct {
	mu        sync.Mutex
	held      map[string]string  // user → reservation id of its 201
	confirmed map[string]string  // user → reservation id confirmed with 200
	waiting   map[string]float64 // user → position in its 202
	refused   map[string]bool    // users answered 503 and nothing else
}

func newLedger() *ledger {
	return &ledger{held: map[string]string{}, confirmed: map[string]string{}, waiting: map[string]float64{}, refused: map[string]bool{}}
}

func (l *ledger) refusals() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.refused)
}

// reserve asks for a unit for user, records the answer, and returns its
// status (0 if there was none). It may run on any goroutine.
func (l *ledger) reserve(t *testing.T, client *http.Client, url, user string) int {
	a, err := call(client, "POST", url+"/reserve", `{"user_id":"`+user+`"}`)
	if err != nil {
		t.Errorf("reserve %s: %v", user, err)
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch a.code {
	case http.StatusCreated:
		id, _ := a.body["reservation_id"].(string)
		if id == "" || a.body["status"] != "held" {
			t.Errorf("reserve %s: 201 %v", user, a.body)
		}
		l.held[user] = id
		delete(l.refused, user)
	case http.StatusAccepted:
		pos, _ := a.body["waitlist_position"].(float64)
		if pos < 1 {
			t.Errorf("reserve %s: 202 %v", user, a.body)
		}
		l.waiting[user] = pos
		delete(l.refused, user)
	case http.StatusServiceUnavailable:
		checkUnavailable(t, a)
		if _, ok := l.held[user]; !ok {
			if _, ok := l.waiting[user]; !ok {
				l.refused[user] = true
			}
		}
	default:
		t.Errorf("reserve %s: %d %v", user, a.code, a.body)
	}
	return a.code
}

// confirm confirms user's hold, records the answer, and returns its status.
func (l *ledger) confirm(t *testing.T, client *http.Client, url, user string) int {
	l.mu.Lock()
	id, ok := l.held[user]
	l.mu.Unlock()
	if !ok {
		t.Fatalf("confirm %s: no hold was acknowledged", user)
	}
	a, err := call(client, "POST", url+"/reservations/"+id+"/confirm", "")
	if err != nil {
		t.Errorf("confirm %s: %v", user, err)
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch a.code {
	case http.StatusOK:
		if a.body["status"] != "confirmed" {
			t.Errorf("confirm %s: 200 %v", user, a.body)
		}
		delete(l.held, user)
		l.confirmed[user] = id
	case http.StatusServiceUnavailable:
		checkUnavailable(t, a)
	default:
		t.Errorf("confirm %s: %d %v", user, a.code, a.body)
	}
	return a.code
}

// verify checks that the sale holds exactly what was acknowledged: each
// 201's hold (confirmed if a confirm was answered 200), each 202's place
// (nobody left or was promoted, so places have not moved), and nothing for
// a user who was refused.
func (l *ledger) verify(t *testing.T, client *http.Client, url, when string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	// A read may meet the Retry-After that follows a failed write (the
	// store rebuilds its state from the file before answering again).
	state := func(user string) (st map[string]any) {
		poll(t, when+": GET /users/"+user, func() (bool, string) {
			a, err := call(client, "GET", url+"/users/"+user, "")
			switch {
			case err != nil:
				t.Fatalf("%s: GET /users/%s: %v", when, user, err)
			case a.code == http.StatusServiceUnavailable:
				checkUnavailable(t, a)
				return false, "503"
			case a.code != http.StatusOK:
				t.Fatalf("%s: GET /users/%s: %d %v", when, user, a.code, a.body)
			}
			st = a.body
			return true, ""
		})
		return st
	}
	for user, id := range l.held {
		st := state(user)
		res, _ := st["reservation"].(map[string]any)
		if st["state"] != "held" || res["reservation_id"] != id {
			t.Errorf("%s: %s was answered 201 with hold %s, and now is %v", when, user, id, st)
		}
	}
	for user, id := range l.confirmed {
		st := state(user)
		res, _ := st["reservation"].(map[string]any)
		if st["state"] != "confirmed" || res["reservation_id"] != id {
			t.Errorf("%s: %s was answered 200 to confirm %s, and now is %v", when, user, id, st)
		}
	}
	for user, pos := range l.waiting {
		if st := state(user); st["state"] != "waiting" || st["waitlist_position"] != pos {
			t.Errorf("%s: %s was answered 202 at place %v, and now is %v", when, user, pos, st)
		}
	}
	for user := range l.refused {
		if st := state(user); st["state"] != "none" {
			t.Errorf("%s: %s was answered only 503, and now is %v", when, user, st)
		}
	}
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
}

// call makes one request; unlike do, it may run on any goroutine, and it
// keeps the headers.
func call(client *http.Client, method, url, body string) (answer, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil && err != io.EOF {
		return a, fmt.Errorf("%s %s: %d with a body that is not JSON: %w", method, url, a.code, err)
	}
	return a, nil
}

// checkUnavailable checks that a 503 is the documented problem: a client
// must learn that nothing was done and when to try again.
func checkUnavailable(t *testing.T, a answer) {
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("503 with Content-Type %q", ct)
	}
	if secs, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("503 with Retry-After %q", a.header.Get("Retry-After"))
	}
	if a.body["type"] != "/problems/unavailable" || a.body["status"] != 503.0 {
		t.Errorf("503 with body %v", a.body)
	}
}

// poll retries try until it reports success, for a little longer than the
// store's Retry-After.
func poll(t *testing.T, what string, try func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(sale.RetryAfter + 10*time.Second)
	var last string
	for attempt := 0; time.Now().Before(deadline) && attempt < 1000; attempt++ {
		var ok bool
		if ok, last = try(); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: still failing at the deadline; last answer: %s", what, last)
}

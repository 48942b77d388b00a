package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	oscmd "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvRequireCluster makes Cluster fail instead of skip when PostgreSQL's
// server programs are not installed (CI sets it).
const EnvRequireCluster = "FLASHSALE_REQUIRE_PG_CLUSTER"

// Cluster is a private PostgreSQL server of one test: its own data folder,
// its own port on 127.0.0.1, trust authentication. A test may stop and
// start it (an outage) without disturbing the machine's server, which
// Cluster never touches.
type Cluster struct {
	bin  string // folder of initdb, pg_ctl, postgres
	dir  string // the cluster's folder: data/, the socket, the log
	port int
	cred *syscall.Credential // run the server programs as this user; nil: as we are
	up   bool
}

// NewCluster starts a private cluster for t, stopped and removed when t
// ends. It skips t, saying why, when PostgreSQL's server programs are not
// installed, unless FLASHSALE_REQUIRE_PG_CLUSTER=1, which fails it.
//
// initdb and postgres refuse to run as root: as root, they run as the
// postgres user, who owns the cluster's folder.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := serverBin()
	if err != nil {
		unavailable(t, err.Error()+" (apt-get install -y postgresql)")
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "running as root, and initdb refuses root, but there is no postgres user to run it as: "+err.Error())
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}

	// Not t.TempDir: its folders are 0700 and root's, which the postgres
	// user cannot enter. The folder is short too, since a Unix socket's
	// path is limited to about 100 bytes.
	c.dir, err = os.MkdirTemp("", "flashsale-pg-")
	if err != nil {
		t.Fatalf("cluster folder: %v", err)
	}
	t.Cleanup(func() {
		c.stop()
		if err := os.RemoveAll(c.dir); err != nil {
			t.Errorf("remove the cluster folder: %v", err)
		}
	})
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatalf("give the cluster folder to the postgres user: %v", err)
		}
	}

	// --no-sync: the cluster lives for one test; its data needs no fsync at
	// creation. The server itself runs with fsync on, so that an immediate
	// stop is a crash it recovers from as a real one would.
	if out, err := c.command(context.Background(), "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	// The port is found free and then bound by postgres: another process
	// may take it in between, hence a few tries.
	for try := 1; ; try++ {
		c.port, err = freePort()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		err = c.start()
		if err == nil {
			break
		}
		if try == 3 {
			t.Fatalf("start the cluster: %v", err)
		}
	}
	return c
}

// DSN is the cluster's postgres database as its superuser, over TCP.
func (c *Cluster) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Port is the cluster's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Stop stops the server at once (pg_ctl -m immediate), as a crash or a
// pulled cable would: connections break, and the next start recovers from
// the write-ahead log.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(); err != nil {
		t.Fatalf("stop the cluster: %v", err)
	}
}

// Start starts the stopped server again on the same port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.start(); err != nil {
		t.Fatalf("start the cluster again: %v", err)
	}
}

func (c *Cluster) start() error {
	if c.up {
		return fmt.Errorf("it is already running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := strings.Join([]string{
		"-p", strconv.Itoa(c.port),
		"-k", c.dir, // the socket here, not in /var/run/postgresql
		"-c", "listen_addresses=127.0.0.1",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=50",
	}, " ")
	out, err := c.command(ctx, "pg_ctl", "start", "-w", "-t", "50", "-D", c.data(), "-l", c.logFile(), "-o", opts).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\nserver log:\n%s", err, out, c.log())
	}
	c.up = true
	return nil
}

func (c *Cluster) stop() error {
	if !c.up {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.command(ctx, "pg_ctl", "stop", "-w", "-t", "50", "-m", "immediate", "-D", c.data()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	c.up = false
	return nil
}

// command runs one of the server programs, as the postgres user when we
// are root, in the cluster's folder (which that user can enter).
func (c *Cluster) command(ctx context.Context, name string, args ...string) *oscmd.Cmd {
	cmd := oscmd.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(cmd.Env, "HOME="+c.dir, "USER=postgres", "LOGNAME=postgres")
	}
	// pg_ctl leaves the server running with its output in the log file;
	// should anything still hold the output pipe, do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (c *Cluster) data() string    { return filepath.Join(c.dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "server.log") }

// log is the end of the server's log, for failure messages.
func (c *Cluster) log() string {
	b, err := os.ReadFile(c.logFile())
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// serverBin finds the newest installed PostgreSQL's programs: Debian's
// /usr/lib/postgresql/N/bin, else initdb on the PATH.
func serverBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := oscmd.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's initdb and pg_ctl are not installed (looked in /usr/lib/postgresql/*/bin and the PATH)")
}

// version is N of /usr/lib/postgresql/N/bin, as a number (so 10 > 9).
func version(bin string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequireCluster) == "1" {
		t.Fatalf("%s; %s=1, so this test must run", why, EnvRequireCluster)
	}
	t.Skipf("%s: skipping this test, which needs a private PostgreSQL cluster (set %s=1 to fail instead)", why, EnvRequireCluster)
}

package load

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgSchema is a schema made for one run on the PostgreSQL server the user
// named, so that no sale left there by an earlier run (or by anyone else)
// is replayed at start; it is dropped afterwards.
type pgSchema struct {
	server string // the DSN given: a server and a database
	name   string // flashsale_load_<random>
	dsn    string // server with search_path=name: what the servers get
}

// pgSchemaPrefix starts the name of every schema a run makes.
const pgSchemaPrefix = "flashsale_load_"

// pgTimeout bounds creating and dropping the schema.
const pgTimeout = 30 * time.Second

// newSchemaName is a fresh schema name: the prefix and 12 random letters
// and digits, lower case, so that it needs no quoting.
func newSchemaName() string {
	return pgSchemaPrefix + strings.ToLower(rand.Text()[:12])
}

// createSchema makes a fresh schema on the server dsn names.
func createSchema(ctx context.Context, dsn string) (*pgSchema, error) {
	s := &pgSchema{server: dsn, name: newSchemaName()}
	var err error
	if s.dsn, err = withParam(dsn, "search_path", s.name); err != nil {
		return nil, err
	}
	if err := s.exec(ctx, "CREATE SCHEMA "+s.name); err != nil {
		return nil, err
	}
	return s, nil
}

// drop drops the schema and everything in it. It runs after the servers
// have stopped, and also when the run failed or was interrupted, hence a
// context of its own.
func (s *pgSchema) drop() error {
	return s.exec(context.Background(), "DROP SCHEMA "+s.name+" CASCADE")
}

func (s *pgSchema) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.server)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %s", redactDSN(s.server), redactIn(err.Error(), s.server))
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("PostgreSQL at %s: %s: %s", redactDSN(s.server), sql, redactIn(err.Error(), s.server))
	}
	return nil
}

// where is the schema and its server, for a person to read.
func (s *pgSchema) where() string {
	return "schema " + s.name + " at " + redactDSN(s.server)
}

// pgOnThisMachine says whether the server dsn names runs here (loopback or
// a Unix socket), sharing the CPU with the servers and wrk.
func pgOnThisMachine(dsn string) bool {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false
	}
	h := cfg.Host
	if strings.HasPrefix(h, "/") || h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// A DSN may carry a password, which must reach neither the report nor an
// error message. PostgreSQL takes a DSN in two forms, a URL
// (postgres://user:PASSWORD@host/db?password=...) and keyword/value pairs
// (host=... password=...); both are handled here.

const redacted = "xxxxx"

// urlPassword is the password of a URL, postgres://user:PASSWORD@host, as
// written.
var urlPassword = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*:([^@/]*)@`)

// kvPassword is password=... in a keyword/value DSN, quoted or not.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// isURLDSN says whether dsn is in the URL form.
func isURLDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// redactDSN is dsn with its password, in whatever place, replaced.
func redactDSN(dsn string) string {
	if !isURLDSN(dsn) {
		return kvPassword.ReplaceAllString(dsn, "${1}"+redacted)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return redactIn(dsn, dsn)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", redacted)
		u.RawQuery = q.Encode()
	}
	return u.Redacted() // the user's password, as xxxxx
}

// redactIn takes dsn's password, as written and decoded, out of text (an
// error from the driver, which may quote it).
func redactIn(text, dsn string) string {
	var secrets []string
	if isURLDSN(dsn) {
		if m := urlPassword.FindStringSubmatch(dsn); m != nil {
			secrets = append(secrets, m[1]) // as written, perhaps percent-encoded
		}
		if u, err := url.Parse(dsn); err == nil {
			if p, ok := u.User.Password(); ok {
				secrets = append(secrets, p)
			}
			secrets = append(secrets, u.Query()["password"]...)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		secrets = append(secrets, m[2], strings.Trim(m[2], "'"))
	}
	// Longest first, so that a spelling that contains another is replaced
	// whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		if s != "" && s != "''" {
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	return text
}

// withParam is dsn with the connection parameter key set to value, in
// either form: a URL's query (replacing the key if there), or a pair added
// at the end (where the last setting of a keyword wins). value must need
// no quoting.
func withParam(dsn, key, value string) (string, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("the PostgreSQL DSN %s: %s", redactDSN(dsn), redactIn(err.Error(), dsn))
	}
	if !isURLDSN(dsn) {
		return strings.TrimSpace(dsn) + " " + key + "=" + value, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("the PostgreSQL DSN %s: does not parse as a URL", redactDSN(dsn))
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

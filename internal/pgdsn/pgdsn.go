// Package pgdsn handles PostgreSQL connection strings for everything that
// is given one (the server, the load generator, the tests): keeping their
// passwords out of what is shown, and setting a parameter in either form.
package pgdsn

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A DSN may carry a password, which must never reach a log line or an error
// message: both end up in places (log stores, CI output, tickets) that the
// database's password must not. Redact is the DSN to show; RedactError is
// an error to show, with every spelling of the password taken out of its
// text, whatever the library that wrote it did.

const redacted = "xxxxx"

var (
	// The password of a URL, postgres://user:PASSWORD@host, as written
	// (perhaps percent-encoded), also when the URL does not parse.
	urlPassword = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*:([^@/]*)@`)
	// password=... in a key=value DSN, quoted or not, or in a URL's query.
	kvPassword = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)
)

// secrets lists the ways the password of dsn may appear in text: as
// written, and decoded. Longest first, so that a password that contains
// another spelling of itself is replaced whole.
func secrets(dsn string) []string {
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && s != redacted {
			seen[s] = true
			if dec, err := url.PathUnescape(s); err == nil && dec != "" {
				seen[dec] = true
			}
			if dec, err := url.QueryUnescape(s); err == nil && dec != "" {
				seen[dec] = true
			}
		}
	}
	if m := urlPassword.FindStringSubmatch(dsn); m != nil {
		add(m[1])
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		v := m[1]
		add(v)
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			inner := v[1 : len(v)-1]
			add(inner)
			add(strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(inner))
		}
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// redactText replaces every spelling of dsn's password in text.
func redactText(text, dsn string) string {
	for _, s := range secrets(dsn) {
		text = strings.ReplaceAll(text, s, redacted)
	}
	return text
}

// Redact is dsn with its password replaced, fit for a log line.
func Redact(dsn string) string {
	return redactText(dsn, dsn)
}

// RedactError is err with dsn's password taken out of its message;
// errors.Is and errors.As still see what err wraps.
//
// The message is made one line too: pgx lists each address it tried on a
// line of its own, and flashsale's error at start is one line.
func RedactError(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := oneLine.Replace(redactText(err.Error(), dsn))
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

var oneLine = strings.NewReplacer(":\n\t", ": ", "\n\t", "; ", "\r\n", "; ", "\n", "; ")

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// WithParam returns dsn with the connection parameter key set to value, in
// either form PostgreSQL takes: a URL (postgres://…?key=value, replacing
// one already there) or keyword/value pairs ("host=… key=value", where the
// last setting of a keyword wins). value must need no quoting.
func WithParam(dsn, key, value string) (string, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("the PostgreSQL DSN: %w", err)
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return strings.TrimSpace(dsn) + " " + key + "=" + value, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("the PostgreSQL DSN: %w", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

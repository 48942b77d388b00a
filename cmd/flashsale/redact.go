package main

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// A DSN may carry a password, which must never reach a log line or an error
// message: both end up in places (log stores, CI output, tickets) that the
// database's password must not. redactDSN is the DSN to show; redactErr is
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

// redactDSN is dsn with its password replaced, fit for a log line.
func redactDSN(dsn string) string {
	return redactText(dsn, dsn)
}

// redactErr is err with dsn's password taken out of its message; errors.Is
// and errors.As still see what err wraps.
//
// The message is made one line too: pgx lists each address it tried on a
// line of its own, and flashsale's error at start is one line.
func redactErr(err error, dsn string) error {
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

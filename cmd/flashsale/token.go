package main

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// trimToken drops whitespace around the admin token. HTTP strips it around
// a header's value, so a token kept with it (a trailing newline from an env
// file or a mounted secret, typically) could never match and every POST
// /initialize would get 401. What is left empty counts as not given.
func (c *config) trimToken(from origins) {
	if t := strings.TrimSpace(c.adminToken); t != c.adminToken {
		c.adminToken = t
		c.tokenTrimmedFrom = from.name("admin-token")
	}
}

// checkToken refuses a token no client can send as a bearer token (RFC
// 6750's b64token). The message never shows the token, only what is wrong
// with it.
func (c *config) checkToken(from origins) error {
	if fault := bearerFault(c.adminToken); fault != "" {
		return fmt.Errorf("%s is not a bearer token: %s; want letters, digits and -._~+/, then = only at the end", from.name("admin-token"), fault)
	}
	return nil
}

// bearerFault says what keeps tok from being a b64token, or "" for nothing
// (the empty token is no token: run generates one).
func bearerFault(tok string) string {
	body := strings.TrimRight(tok, "=")
	if tok != "" && body == "" {
		return "it is only = signs"
	}
	for i, r := range []rune(body) {
		if !isTokenRune(r) {
			return fmt.Sprintf("character %d is %s", i+1, describeRune(r))
		}
	}
	return ""
}

func isTokenRune(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~+/", r)
}

// describeRune names a character without showing more of a secret than
// needed: whitespace and control characters are invisible in a terminal
// anyway.
func describeRune(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case r == '\t':
		return "a tab"
	case unicode.IsSpace(r):
		return "a line break or other whitespace"
	case unicode.IsControl(r):
		return "a control character"
	case r > unicode.MaxASCII:
		return "not ASCII"
	}
	return strconv.QuoteRune(r)
}

// randomToken makes an admin token when none is configured: 128 bits, so it
// cannot be guessed, in a form that is easy to paste.
func randomToken() string {
	return rand.Text()
}

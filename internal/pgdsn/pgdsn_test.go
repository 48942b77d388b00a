package pgdsn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestRedact(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"postgres://shop:s3cret@db:5432/sale?sslmode=disable", "postgres://shop:xxxxx@db:5432/sale?sslmode=disable"},
		{"postgresql://shop:p%40ss%2Fw@db/sale", "postgresql://shop:xxxxx@db/sale"},
		{"postgres://shop@db/sale?password=s3cret&sslmode=require", "postgres://shop@db/sale?password=xxxxx&sslmode=require"},
		{"host=db user=shop password=s3cret dbname=sale", "host=db user=shop password=xxxxx dbname=sale"},
		{"host=db password='s3 cret' dbname=sale", "host=db password=xxxxx dbname=sale"},
		{"postgres://shop@db/sale", "postgres://shop@db/sale"},
		{"postgres://shop:s3cret@db:99999999/sale%zz", "postgres://shop:xxxxx@db:99999999/sale%zz"}, // does not parse
		{"postgres://u:secret@h:5432/d?sslmode=disable", "postgres://u:xxxxx@h:5432/d?sslmode=disable"},
		{"postgres://u@h/d", "postgres://u@h/d"},
		{"host=h user=u password=secret dbname=d", "host=h user=u password=xxxxx dbname=d"},
	}
	for _, c := range cases {
		if got := Redact(c.dsn); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
	// Decoded, as a library may print it, the password goes too; the error
	// is still what it wraps.
	dsn := "postgres://shop:p%40ss@db/sale"
	cause := errors.New("refused")
	err := RedactError(fmt.Errorf("%w: password p@ss refused for p%%40ss", cause), dsn)
	if strings.Contains(err.Error(), "p@ss") || strings.Contains(err.Error(), "p%40ss") || !errors.Is(err, cause) {
		t.Errorf("RedactError: %v (wraps its cause: %v)", err, errors.Is(err, cause))
	}
}

func TestWithParam(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
			"postgres://postgres@127.0.0.1:5432/test?search_path=s1&sslmode=disable"},
		{"postgresql://u:p%40ss@db:5433/shop",
			"postgresql://u:p%40ss@db:5433/shop?search_path=s1"},
		// One already there is replaced, not doubled.
		{"postgres://u@h/d?search_path=public&sslmode=disable",
			"postgres://u@h/d?search_path=s1&sslmode=disable"},
		// Keyword/value: the last setting of a keyword wins.
		{"host=127.0.0.1 port=5432 dbname=test search_path=public ",
			"host=127.0.0.1 port=5432 dbname=test search_path=public search_path=s1"},
	} {
		got, err := WithParam(tc.dsn, "search_path", "s1")
		if err != nil {
			t.Errorf("WithParam(%q): %v", tc.dsn, err)
			continue
		}
		if got != tc.want {
			t.Errorf("WithParam(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("pgx cannot parse %q: %v", got, err)
		} else if sp := cfg.RuntimeParams["search_path"]; sp != "s1" {
			t.Errorf("pgx reads search_path %q from %q, want s1", sp, got)
		}
	}
	for _, bad := range []string{"postgres://u@h:notaport/d", "host=h port=x"} {
		if got, err := WithParam(bad, "search_path", "s1"); err == nil {
			t.Errorf("WithParam(%q) = %q, want an error", bad, got)
		}
	}
}

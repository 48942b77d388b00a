package httpapi

import (
	"regexp"
	"testing"

	"github.com/flashsale/flashsale/generated"
)

// TestASCIIPatternAgreesWithRegexp holds the automaton to Go's regexp, for
// the pattern of the document's user ids and a few of the same form, on
// every string of up to five bytes over an alphabet that has, for each
// pattern, a byte in and out of every class.
func TestASCIIPatternAgreesWithRegexp(t *testing.T) {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	userID := spec.Components.Schemas["UserID"].Value.Pattern
	patterns := []string{userID, `^[a-z]+$`, `^a?b*[0-9]+c$`, `^[^a]*x$`, `^$`, `^[.]?[.]?$`, `^x+y?$`, `^[a-c_-]{3}x?$`, `^a{2,3}$`}
	const alphabet = "a.0_Z/xb-y@:c~ "
	for _, pattern := range patterns {
		re := regexp.MustCompile(pattern)
		p, err := compilePattern(pattern)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		var try func(s string)
		try = func(s string) {
			if got, want := p.match(s), re.MatchString(s); got != want {
				t.Fatalf("%s on %q: %v, regexp says %v", pattern, s, got, want)
			}
			if len(s) < 5 {
				for i := range len(alphabet) {
					try(s + alphabet[i:i+1])
				}
			}
		}
		try("")
	}
}

// TestCompilePatternRefuses: what is not a sequence of classes anchored at
// both ends is left to regexp.
func TestCompilePatternRefuses(t *testing.T) {
	for _, pattern := range []string{`[a-z]+`, `^[a-z]+`, `[a-z]+$`, `^(a|bc)$`, `^a.c$`, `^(?i)a$`, `^ab$`, `^(ab)*$`, `^[a-z]{64}$`, `(`} {
		if _, err := compilePattern(pattern); err == nil {
			t.Errorf("%s: compiled, want it left to regexp", pattern)
		}
	}
}

package httpapi

import (
	"fmt"
	"regexp/syntax"
)

// asciiPattern is a schema pattern compiled, for the ASCII strings a plan
// reads, into a small automaton over byte classes: the document's id
// patterns are a run of character classes, each once, optional or
// repeated, anchored at both ends (`^[A-Za-z0-9._:@-]*[A-Za-z0-9_:@-]...$`),
// which Go's regexp matches by backtracking, at a tenth of a request's
// handler time. compilePattern takes only patterns of that form;
// TestASCIIPatternAgreesWithRegexp holds each to regexp on every short
// ASCII string of its alphabet.
type asciiPattern struct {
	steps []patternStep
}

type patternStep struct {
	class [128]bool // the ASCII bytes it matches
	times stepTimes
}

type stepTimes int

const (
	once stepTimes = iota
	optional
	repeated // any number, none included
)

// maxPatternSteps keeps the automaton's states in one uint64.
const maxPatternSteps = 63

// compilePattern compiles pattern, or says why it cannot (then the plan
// uses regexp for it).
func compilePattern(pattern string) (*asciiPattern, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil, fmt.Errorf("not anchored at both ends, or not a sequence")
	}
	p := &asciiPattern{}
	if err := p.add(re.Sub[1 : len(re.Sub)-1]); err != nil {
		return nil, err
	}
	if len(p.steps) > maxPatternSteps {
		return nil, fmt.Errorf("more than %d steps", maxPatternSteps)
	}
	return p, nil
}

// add appends the steps of a sequence (a{3} is simplified to aaa, a
// sequence within the sequence).
func (p *asciiPattern) add(seq []*syntax.Regexp) error {
	for _, sub := range seq {
		times, single := once, sub
		switch sub.Op {
		case syntax.OpConcat:
			if err := p.add(sub.Sub); err != nil {
				return err
			}
			continue
		case syntax.OpStar:
			times, single = repeated, sub.Sub[0]
		case syntax.OpQuest:
			times, single = optional, sub.Sub[0]
		case syntax.OpPlus:
			// X+ is X then X*.
			step, err := classStep(sub.Sub[0], once)
			if err != nil {
				return err
			}
			p.steps = append(p.steps, step)
			times, single = repeated, sub.Sub[0]
		}
		step, err := classStep(single, times)
		if err != nil {
			return err
		}
		p.steps = append(p.steps, step)
	}
	return nil
}

// classStep is one step matching re, which must be a character class or
// one literal character, case-sensitive.
func classStep(re *syntax.Regexp, times stepTimes) (patternStep, error) {
	step := patternStep{times: times}
	switch {
	case re.Op == syntax.OpLiteral && len(re.Rune) == 1 && re.Flags&syntax.FoldCase == 0:
		if r := re.Rune[0]; r < 128 {
			step.class[r] = true
		}
	case re.Op == syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1] && r < 128; r++ {
				step.class[r] = true
			}
		}
	default:
		return step, fmt.Errorf("a part that is not one character class (%v)", re.Op)
	}
	return step, nil
}

// match says whether s, which must be ASCII, matches the whole pattern.
// The states are the steps done so far, as bits; each byte moves every
// state it can, and a state may skip an optional or repeated step.
func (p *asciiPattern) match(s string) bool {
	states := p.skip(1)
	for i := 0; i < len(s) && states != 0; i++ {
		c := s[i]
		var next uint64
		for k := range p.steps {
			if states&(1<<k) == 0 || c >= 128 || !p.steps[k].class[c] {
				continue
			}
			if p.steps[k].times == repeated {
				next |= 1 << k
			} else {
				next |= 1 << (k + 1)
			}
		}
		states = p.skip(next)
	}
	return states&(1<<len(p.steps)) != 0
}

// skip adds to states every state reachable by skipping optional and
// repeated steps.
func (p *asciiPattern) skip(states uint64) uint64 {
	for k := range p.steps {
		if states&(1<<k) != 0 && p.steps[k].times != once {
			states |= 1 << (k + 1)
		}
	}
	return states
}

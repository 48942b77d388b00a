package load

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// knowsFlag says whether the server binary bin lists flag (such as
// "--new-shopper-rate") in its -h: how the bench tells an earlier build
// that predates a flag, and would refuse it, from one that has it. A binary
// that cannot be run does not know it; starting it fails later, and says
// why.
func knowsFlag(ctx context.Context, bin, flag string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// -h exits non-zero in some builds: only what it prints matters.
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	// The flag package lists each flag as "  -name type" (one dash).
	name := regexp.QuoteMeta(strings.TrimLeft(flag, "-"))
	return regexp.MustCompile(`(?m)^\s*--?` + name + `(\s|=|$)`).Match(out)
}

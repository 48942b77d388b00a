package load

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/internal/serverbin"
)

// An earlier build is told from this one by its -h: this build lists
// --new-shopper-rate; one from before the limit on new users does not (and
// a flag that merely starts the same does not count).
func TestKnowsFlag(t *testing.T) {
	if !knowsFlag(t.Context(), serverbin.Path(t), newShopperRateFlag) {
		t.Errorf("this build's flashsale -h does not list %s", newShopperRateFlag)
	}
	old := filepath.Join(t.TempDir(), "flashsale-old")
	script := "#!/bin/sh\necho 'usage: flashsale [flags]'\necho '  -new-shopper-rate-x float'\necho '  -rate-limit float'\nexit 2\n"
	if err := os.WriteFile(old, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if knowsFlag(t.Context(), old, newShopperRateFlag) {
		t.Errorf("a build whose -h lists no %s was taken to know it", newShopperRateFlag)
	}
	if knowsFlag(t.Context(), filepath.Join(t.TempDir(), "missing"), newShopperRateFlag) {
		t.Error("a binary that cannot run was taken to know the flag")
	}
}

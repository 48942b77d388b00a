//go:build !linux

package load

import "time"

// The machine's CPU is read from Linux's /proc; elsewhere others' share of
// a run is left out.
func machineBusy() (time.Duration, bool) { return 0, false }

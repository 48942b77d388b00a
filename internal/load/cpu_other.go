//go:build !linux

package load

import "time"

// CPU accounting is read from Linux's /proc and getrusage; elsewhere the
// figures are left out.
func selfCPU() (time.Duration, bool)           { return 0, false }
func ProcessCPU(pid int) (time.Duration, bool) { return 0, false }
func loadAvg() (string, bool)                  { return "", false }

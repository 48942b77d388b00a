package cli

import (
	"os"
	"runtime/debug"
)

// ServerGCPercent is the garbage collector's target, unless GOGC sets one,
// of every process that answers POST /reserve: the server, and the load
// tool's referee and baseline, which it is measured against. Each request
// allocates a few KB that die at once, and the live heap is small:
// collecting less often buys about a fifth of the CPU per request
// (docs/benchmarks.md) for a larger heap. The server and what it is
// compared with collect alike, so that a comparison prices their code, not
// a GC setting (at the default, 100, the referee spent about a sixth more
// CPU per request).
const ServerGCPercent = 400

// SetServerGC sets ServerGCPercent for the process, unless GOGC is set. It
// is the process's setting, so a main sets it, never a run that tests call
// in their own process.
func SetServerGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(ServerGCPercent)
	}
}

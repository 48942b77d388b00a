package load

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// machineBusy is the CPU time all processes on the machine have used since
// boot, from the first line of /proc/stat: everything but idle and iowait.
// Less the server's and wrk's own, it is what others took from a run.
func machineBusy() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	// user nice system idle iowait irq softirq steal (guest and
	// guest_nice, after them, are counted in user and nice already).
	for i, s := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks, true
}

package load

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine is what a reader needs to weigh the figures.
type Machine struct {
	Date     time.Time
	Cores    int
	CPU      string // the processor's model name, "" when unknown
	Platform string // GOOS/GOARCH
	LoadAvg  string // 1-minute load average at the start, "" when unknown
	Wrk      string // wrk's version line
}

// thisMachine is the machine this process runs on, as it is now: cores,
// processor, platform and load average, without a date or wrk's version,
// so that every bench heads its figures with the same facts.
func thisMachine() Machine {
	la, _ := loadAvg()
	return Machine{Cores: runtime.NumCPU(), CPU: cpuModel(), Platform: runtime.GOOS + "/" + runtime.GOARCH, LoadAvg: la}
}

func describeMachine(now time.Time, wrkVersion string) Machine {
	m := thisMachine()
	m.Date, m.Wrk = now, wrkVersion
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo, "" elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

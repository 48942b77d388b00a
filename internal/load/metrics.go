package load

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// scrapeSeries reads the named series from baseURL's /metrics, Prometheus
// text exposition; a missing one is an error, not a zero that would pass for
// a figure. The streams bench reads the Go runtime's memory series with it.
func scrapeSeries(ctx context.Context, hc *http.Client, baseURL string, names []string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics answered %d", baseURL, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	m, err := parseSeries(sc, names)
	if err != nil {
		return nil, fmt.Errorf("%s/metrics: %w", baseURL, err)
	}
	return m, nil
}

// parseSeries picks the named series out of Prometheus text exposition.
// Only unlabelled ones can be named, so a line is just "name value".
func parseSeries(sc *bufio.Scanner, names []string) (map[string]float64, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	m := make(map[string]float64, len(names))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || !want[f[0]] {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f[0], err)
		}
		m[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, ok := m[n]; !ok {
			return nil, fmt.Errorf("no %s series", n)
		}
	}
	return m, nil
}

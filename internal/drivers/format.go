package drivers

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Format is an output format for Write.
type Format string

const (
	Table Format = "table" // aligned columns for people
	CSV   Format = "csv"   // RFC 4180 with a header row
	JSON  Format = "json"  // an array of objects, [] when empty
)

// ParseFormat accepts table, csv or json.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Table, CSV, JSON:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want table, csv or json", s)
}

var header = []string{"driver_id", "total_deliveries", "success_rate"}

// Write prints the reliable drivers of month m in format f.
func Write(w io.Writer, f Format, m Month, ds []Driver) error {
	switch f {
	case CSV:
		return writeCSV(w, ds)
	case JSON:
		return writeJSON(w, ds)
	case Table:
		return writeTable(w, m, ds)
	}
	return fmt.Errorf("format %q: want table, csv or json", f)
}

func writeTable(w io.Writer, m Month, ds []Driver) error {
	rows := [][]string{header}
	for _, d := range ds {
		rows = append(rows, record(d))
	}
	// Numbers align right, under headers as wide as their columns.
	widths := make([]int, len(header))
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], len(cell))
		}
	}
	bw := bufio.NewWriter(w)
	for _, r := range rows {
		for i, cell := range r {
			if i > 0 {
				bw.WriteString("  ")
			}
			fmt.Fprintf(bw, "%*s", widths[i], cell)
		}
		bw.WriteByte('\n')
	}
	noun := "drivers"
	if len(ds) == 1 {
		noun = "driver"
	}
	fmt.Fprintf(bw, "(%d reliable %s in %s)\n", len(ds), noun, m)
	return bw.Flush()
}

func record(d Driver) []string {
	return []string{
		strconv.FormatInt(d.ID, 10),
		strconv.FormatInt(d.TotalDeliveries, 10),
		d.SuccessRate.String(),
	}
}

func writeCSV(w io.Writer, ds []Driver) error {
	cw := csv.NewWriter(w)
	cw.Write(header)
	for _, d := range ds {
		cw.Write(record(d))
	}
	cw.Flush()
	return cw.Error()
}

func writeJSON(w io.Writer, ds []Driver) error {
	if ds == nil {
		ds = []Driver{} // [] rather than null
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ds)
}

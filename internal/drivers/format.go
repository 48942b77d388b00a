package drivers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\t%s\t\n", header[0], header[1], header[2])
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%d\t%s\t\n", d.ID, d.TotalDeliveries, d.SuccessRate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "drivers"
	if len(ds) == 1 {
		noun = "driver"
	}
	_, err := fmt.Fprintf(w, "(%d reliable %s in %s)\n", len(ds), noun, m)
	return err
}

func writeCSV(w io.Writer, ds []Driver) error {
	cw := csv.NewWriter(w)
	cw.Write(header)
	for _, d := range ds {
		cw.Write([]string{
			strconv.FormatInt(d.ID, 10),
			strconv.FormatInt(d.TotalDeliveries, 10),
			d.SuccessRate.String(),
		})
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

package drivers

import (
	"strings"
	"testing"
)

func TestParseMonth(t *testing.T) {
	for _, tt := range []struct{ in, start, end string }{
		{"2024-09", "2024-09-01 00:00:00", "2024-10-01 00:00:00"},
		{"2024-12", "2024-12-01 00:00:00", "2025-01-01 00:00:00"},
		{"2024-02", "2024-02-01 00:00:00", "2024-03-01 00:00:00"},
		{"0001-01", "0001-01-01 00:00:00", "0001-02-01 00:00:00"},
		{"9998-12", "9998-12-01 00:00:00", "9999-01-01 00:00:00"},
	} {
		m, err := ParseMonth(tt.in)
		if err != nil {
			t.Errorf("ParseMonth(%q): %v", tt.in, err)
			continue
		}
		start, end := m.bounds()
		if m.String() != tt.in || start != tt.start || end != tt.end {
			t.Errorf("ParseMonth(%q) = %s [%s, %s), want [%s, %s)", tt.in, m, start, end, tt.start, tt.end)
		}
	}
	for _, in := range []string{"", "2024-9", "2024-13", "2024-00", "24-09", "2024/09", "2024-09-01", " 2024-09", "2024-09 ", "September", "0000-01", "9999-12", "+2024-09"} {
		_, err := ParseMonth(in)
		if err == nil {
			t.Errorf("ParseMonth(%q): got nil error", in)
		} else if !strings.Contains(err.Error(), "month") {
			t.Errorf("ParseMonth(%q): %v does not say what was wrong", in, err)
		}
	}
}

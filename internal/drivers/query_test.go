package drivers

import (
	"strings"
	"testing"
)

func TestParameterize(t *testing.T) {
	for d, ms := range monthSQLs {
		t.Run(d.String(), func(t *testing.T) {
			q, err := parameterize(ms)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(q, ms.september) || strings.Count(q, "$1") != 1 || strings.Contains(q, "$2") {
				t.Errorf("month literal not replaced by $1 alone:\n%s", q)
			}
			// Changing nothing else: putting the literal back gives the file.
			if back := strings.Replace(q, "$1", ms.september, 1); back != ms.text {
				t.Error("parameterize changed more than the month literal")
			}
			if got := monthQueries[d]; got != q {
				t.Errorf("monthQueries[%s] is not the parameterized file", d)
			}

			for name, text := range map[string]string{
				"no month":      "SELECT 1",
				"month twice":   ms.text + "-- " + ms.september,
				"month spelled": strings.Replace(ms.text, ms.september, "'2024-9'", 1),
			} {
				bad := ms
				bad.text = text
				if _, err := parameterize(bad); err == nil || !strings.Contains(err.Error(), ms.file) {
					t.Errorf("%s: got %v, want an error naming %s", name, err, ms.file)
				}
			}
		})
	}
}

// The value bound for a month is what the file's literal is for September,
// so the file as it is and the parameterized query ask the same question.
func TestMonthArg(t *testing.T) {
	sept := MustParseMonth("2024-09")
	for d, ms := range monthSQLs {
		if got := "'" + d.monthArg(sept) + "'"; !strings.HasSuffix(ms.september, got) {
			t.Errorf("%s: September binds %s, the file says %s", d, got, ms.september)
		}
	}
	for _, tt := range []struct {
		d    Dialect
		m    string
		want string
	}{
		{SQLite, "2024-12", "2024-12"},
		{SQLite, "0001-01", "0001-01"},
		{Postgres, "2024-12", "2024-12-01 00:00:00"},
		{Postgres, "2024-02", "2024-02-01 00:00:00"},
	} {
		if got := tt.d.monthArg(MustParseMonth(tt.m)); got != tt.want {
			t.Errorf("%s, %s: got %q, want %q", tt.d, tt.m, got, tt.want)
		}
	}
}

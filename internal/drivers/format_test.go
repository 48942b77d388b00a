package drivers

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestWrite(t *testing.T) {
	sept := MustParseMonth("2024-09")
	ds := []Driver{{ID: 42, TotalDeliveries: 1019, SuccessRate: 10000}, {ID: 7, TotalDeliveries: 10, SuccessRate: 9000}, {ID: 1234567, TotalDeliveries: 32, SuccessRate: 9063}}
	tests := []struct {
		f    Format
		ds   []Driver
		want string
	}{
		{Table, ds, "" +
			"driver_id  total_deliveries  success_rate\n" +
			"       42              1019        100.00\n" +
			"        7                10         90.00\n" +
			"  1234567                32         90.63\n" +
			"(3 reliable drivers in 2024-09)\n"},
		{Table, nil, "driver_id  total_deliveries  success_rate\n(0 reliable drivers in 2024-09)\n"},
		{CSV, ds, "driver_id,total_deliveries,success_rate\n42,1019,100.00\n7,10,90.00\n1234567,32,90.63\n"},
		{CSV, nil, "driver_id,total_deliveries,success_rate\n"},
		{JSON, ds[1:2], "[\n  {\n    \"driver_id\": 7,\n    \"total_deliveries\": 10,\n    \"success_rate\": 90.00\n  }\n]\n"},
		{JSON, nil, "[]\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := Write(&b, tt.f, sept, tt.ds); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s, %d rows:\n got %q\nwant %q", tt.f, len(tt.ds), b.String(), tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "csv", "json"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "CSV", "yaml"} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q): got nil error", s)
		}
	}
}

func TestRateJSONRoundTrip(t *testing.T) {
	for _, r := range []Rate{0, 1, 9000, 9063, 9999, 10000} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Rate
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Errorf("%v -> %s -> %v, %v", r, b, back, err)
		}
	}
}

package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/internal/testkit"
)

// TestInventoryInitializesOnce: --inventory initializes a new sale only. A
// restart with the same command (or a second server on the same database)
// leaves the running sale as it is, here the total an operator raised with
// POST /initialize and the holds made since.
func TestInventoryInitializesOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sale.db")
	args := []string{"--store", "sqlite", "--db", db, "--inventory", "2", "--admin-token", "secret"}
	s := testkit.StartRun(t, run, args, nil)
	if code, body := post(t, s.URL+"/initialize", `{"total_inventory": 7}`, "Authorization", "Bearer secret"); code != http.StatusOK {
		t.Fatalf("initialize 7: %d %v", code, body)
	}
	if code, body := post(t, s.URL+"/reserve", `{"user_id": "alice"}`); code != http.StatusCreated {
		t.Fatalf("reserve: %d %v", code, body)
	}
	s.Stop(t)

	s = testkit.StartRun(t, run, args, nil)
	st := mustStatus(t, newClient(t, s.URL))
	if st.TotalInventory != 7 || st.Held != 1 || st.Available != 6 {
		t.Fatalf("after a restart with --inventory 2: %+v; want the sale as it was (7 units, 1 held)", st)
	}
	if len(s.Logged("the sale is already initialized; --inventory leaves it as it is")) == 0 {
		t.Error("the restart did not say it left the sale as it was")
	}
}

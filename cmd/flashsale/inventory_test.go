package main

import (
	"net/http"
	"path/filepath"
	"testing"
)

// TestInventoryInitializesOnce: --inventory initializes a new sale only. A
// restart with the same command (or a second server on the same database)
// leaves the running sale as it is, here the total an operator raised with
// POST /initialize and the holds made since.
func TestInventoryInitializesOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sale.db")
	args := []string{"--store", "sqlite", "--db", db, "--inventory", "2", "--admin-token", "secret"}
	s := start(t, args, nil)
	if code, body := post(t, s.url+"/initialize", `{"total_inventory": 7}`, "Authorization", "Bearer secret"); code != http.StatusOK {
		t.Fatalf("initialize 7: %d %v", code, body)
	}
	if code, body := post(t, s.url+"/reserve", `{"user_id": "alice"}`); code != http.StatusCreated {
		t.Fatalf("reserve: %d %v", code, body)
	}
	s.stop(t)

	s = start(t, args, nil)
	st := mustStatus(t, newClient(t, s.url))
	if st.TotalInventory != 7 || st.Held != 1 || st.Available != 6 {
		t.Fatalf("after a restart with --inventory 2: %+v; want the sale as it was (7 units, 1 held)", st)
	}
	if s.logged("the sale is already initialized; --inventory leaves it as it is") == nil {
		t.Error("the restart did not say it left the sale as it was")
	}
}

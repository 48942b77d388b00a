package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
	"github.com/flashsale/flashsale/internal/store/journaltest"
)

// TestOutboxJournal: see journaltest.Outbox, each test on a file of its
// own, reopened as a restarted server does. The process owns the file, so
// the two holders of a lease share its one store.
func TestOutboxJournal(t *testing.T) {
	journaltest.Outbox(t, func(t *testing.T) journaltest.Opener {
		path := filepath.Join(t.TempDir(), "sale.db")
		return func(t *testing.T, cfg sale.Config) (*store.Store, journaltest.OutboxJournal) {
			return openKeyed(t, path, cfg)
		}
	})
}

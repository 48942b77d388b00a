package rules

import (
	"fmt"
	"time"

	"github.com/flashsale/flashsale/internal/sale"
)

// Initialize sets the total inventory; with reset it first starts a new
// sale. Without reset, a total below held + confirmed fails with
// *sale.InventoryError. Units that become available go to the line first.
func (s *Sale) Initialize(now time.Time, total int64, reset bool) (sale.Status, error) {
	return s.InitializeWindow(now, total, reset, sale.Window{})
}

// InitializeWindow is Initialize that also sets the sale's window (see
// schedule): a new sale opens at w.OpensAt (now when it is zero or has
// passed) and closes at w.ClosesAt (never when zero); an initialize
// without reset moves the times w sets, while they are ahead, and keeps
// the others.
func (s *Sale) InitializeWindow(now time.Time, total int64, reset bool, w sale.Window) (sale.Status, error) {
	if total < 0 || total > sale.MaxInventory {
		return sale.Status{}, fmt.Errorf("initialize %d: %w: total must be within 0..%d", total, sale.ErrInvalid, sale.MaxInventory)
	}
	w = sale.Window{OpensAt: instantOrZero(w.OpensAt), ClosesAt: instantOrZero(w.ClosesAt)}
	if err := sale.CheckWindow(w); err != nil {
		// Refused before anything is made, as a total out of range is.
		return sale.Status{}, fmt.Errorf("initialize %d: %w: %w", total, sale.ErrInvalid, err)
	}
	now = sale.Instant(now)
	s.advance(now)
	fresh := reset || !s.initialized
	if taken := s.held + s.confirmed; !fresh && total < taken {
		return sale.Status{}, fmt.Errorf("initialize %d: %w", total, &sale.InventoryError{Total: total, Taken: taken})
	}
	scheduled, err := s.schedule(now, fresh, w)
	if err != nil {
		return sale.Status{}, fmt.Errorf("initialize %d: %w", total, err)
	}
	if reset && s.initialized {
		s.emit(sale.Event{Kind: sale.EventReset, At: now})
	}
	if scheduled != nil {
		s.emit(*scheduled)
	}
	if !s.initialized || total != s.total {
		s.emit(sale.Event{Kind: sale.EventInitialized, At: now, Total: total})
	}
	s.advance(now) // an opening moved to now is drawn now
	for s.available > 0 && s.line.len() > 0 {
		s.promote(now)
	}
	return s.Status(), nil
}

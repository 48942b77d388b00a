// Package memory is the sale kept in this process's memory only: the rules
// under one lock, nothing written anywhere. It is the fastest store and the
// default of `make run`; a restart loses the sale.
package memory

import (
	"context"

	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/store"
)

// New returns an empty sale; nothing is for sale until Initialize.
func New(cfg sale.Config) (*store.Store, error) {
	return store.Open(context.Background(), nil, cfg)
}

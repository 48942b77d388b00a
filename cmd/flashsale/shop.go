package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/shopper"
)

// loadShop reads the shop's token keys when the flags name them; nil
// means the sale issues its own shopper tokens.
func loadShop(cfg config) (*shopper.Shop, error) {
	if cfg.jwtKeys == "" && cfg.jwtSecret == "" {
		return nil, nil
	}
	return shopper.LoadShop(shopper.ShopConfig{
		KeysFile:   cfg.jwtKeys,
		SecretFile: cfg.jwtSecret,
		Issuer:     cfg.jwtIssuer,
		Audience:   cfg.jwtAudience,
		ValidUser:  httpapi.ValidUserID,
	})
}

// reloadOnHangup reads the shop's keys again on each SIGHUP, so that a shop
// rotating its keys needs no restart. A file that does not read keeps the
// keys in use, and the log says why. The returned func stops listening.
func reloadOnHangup(shop *shopper.Shop, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				if err := shop.Reload(); err != nil {
					log.Error("SIGHUP: the shop's token keys did not reload; the keys read before stay in use", "err", err)
					continue
				}
				log.Info("SIGHUP: reloaded the shop's token keys")
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}

// shopperTokens names, for the log, whose tokens identify shoppers.
func shopperTokens(shop *shopper.Shop) string {
	if shop == nil {
		return "the sale's own"
	}
	return "the shop's"
}

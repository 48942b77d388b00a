package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/shopper"
	"github.com/flashsale/flashsale/internal/webhook"
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

// reloadOnHangup reads the shop's keys and the webhook secrets again on
// each SIGHUP (those in use: nil shop or hooks have none), so that a
// rotation needs no restart. A file that does not read keeps what is in
// use, and the log says why. The returned func stops listening.
func reloadOnHangup(cfg config, shop *shopper.Shop, hooks *webhook.Deliverer, log *slog.Logger) (stop func()) {
	if shop == nil && hooks == nil {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				if shop != nil {
					if err := shop.Reload(); err != nil {
						log.Error("SIGHUP: the shop's token keys did not reload; the keys read before stay in use", "err", err)
					} else {
						log.Info("SIGHUP: reloaded the shop's token keys")
					}
				}
				if hooks != nil {
					if keys, err := webhookKeys(cfg); err != nil {
						log.Error("SIGHUP: the webhook secrets did not reload; the secrets read before stay in use", "err", err)
					} else {
						hooks.SetKeys(keys)
						log.Info("SIGHUP: reloaded the webhook secrets", "secrets", len(keys))
					}
				}
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

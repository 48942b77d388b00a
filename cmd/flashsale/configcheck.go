package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/flashsale/flashsale/internal/httpapi"
	"github.com/flashsale/flashsale/internal/sale"
)

// check refuses a configuration the server cannot run as the operator
// meant, with one line naming the flag or variable at fault.
func (c *config) check(from origins) error {
	for _, check := range []func(origins) error{c.checkStore, c.checkAddr, c.checkToken, c.checkTimes, c.checkRate, c.checkNumbers, c.checkShopTokens, c.checkWebhooks} {
		if err := check(from); err != nil {
			return err
		}
	}
	return nil
}

func (c *config) checkStore(from origins) error {
	switch {
	case c.store != "memory" && c.store != "sqlite" && c.store != "postgres":
		return fmt.Errorf("%s: want memory, sqlite or postgres", from.setting("store", strconv.Quote(c.store)))
	case c.store == "sqlite" && c.db == "":
		return fmt.Errorf("%s needs -db PATH, the file to keep the sale in", from.setting("store", c.store))
	case c.store != "sqlite" && c.db != "":
		return fmt.Errorf("%s is only for -store sqlite (the store is %s)", from.name("db"), c.store)
	case c.store == "postgres" && c.dsn == "":
		return fmt.Errorf("%s needs -dsn postgres://USER@HOST:PORT/DATABASE, the database to keep the sale in", from.setting("store", c.store))
	case c.store != "postgres" && c.dsn != "":
		// FLASHSALE_DSN counts too: a server must not quietly keep its sale
		// in memory while the operator believes it is in the database.
		return fmt.Errorf("%s is only for -store postgres (the store is %s)", from.name("dsn"), c.store)
	}
	return nil
}

// checkAddr refuses what net.Listen would read otherwise than meant: an
// empty address listens on every interface, at a port nobody chose.
func (c *config) checkAddr(from origins) error {
	const want = "want HOST:PORT, such as 127.0.0.1:8080, or port 0 for a free one"
	if c.addr == "" {
		return fmt.Errorf("%s is empty: %s", from.name("addr"), want)
	}
	_, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("%s: %s", from.setting("addr", strconv.Quote(c.addr)), want)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%s: the port must be a number from 0 to 65535", from.setting("addr", strconv.Quote(c.addr)))
	}
	return nil
}

// checkTimes refuses a duration the server would not honour as written.
func (c *config) checkTimes(from origins) error {
	if err := sale.CheckHoldTTL(c.holdTTL); err != nil {
		return fmt.Errorf("%s: %w", from.setting("hold-ttl", c.holdTTL), err)
	}
	if err := sale.CheckKeyTTL(c.idempotencyTTL); err != nil {
		return fmt.Errorf("%s: %w", from.setting("idempotency-ttl", c.idempotencyTTL), err)
	}
	if c.sweepInterval <= 0 {
		return fmt.Errorf("%s must be positive", from.setting("sweep-interval", c.sweepInterval))
	}
	// net/http reads 0 or less as no limit: a typo would silently take the
	// guard away, so each must be positive.
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read-header-timeout", c.readHeaderTimeout},
		{"read-timeout", c.readTimeout},
		{"write-timeout", c.writeTimeout},
		{"idle-timeout", c.idleTimeout},
	} {
		if t.d <= 0 {
			return fmt.Errorf("%s must be positive: net/http takes 0 or less as no limit, which would turn this guard off", from.setting(t.name, t.d))
		}
	}
	if c.shutdownTimeout <= 0 {
		return fmt.Errorf("%s must be positive: 0 or less would cut off the requests in flight at once", from.setting("shutdown-timeout", c.shutdownTimeout))
	}
	return nil
}

// checkRate leaves the bounds to httpapi, which enforces them.
func (c *config) checkRate(from origins) error {
	for _, l := range []struct {
		rate, burst string
		perSecond   float64
		n           int
	}{
		{"rate-limit", "rate-burst", c.rateLimit, c.rateBurst},
		{"new-shopper-rate", "new-shopper-burst", c.newShopperRate, c.newShopperBurst},
	} {
		if err := httpapi.CheckRateLimit(l.perSecond, 1); err != nil {
			return fmt.Errorf("%s: %w", from.name(l.rate), err)
		}
		if err := httpapi.CheckRateLimit(l.perSecond, l.n); err != nil {
			return fmt.Errorf("%s: %w", from.name(l.burst), err)
		}
	}
	return nil
}

// checkShopTokens wants the issuer and audience of the shop's tokens
// whenever they are used, and neither otherwise: a token checked for
// neither would be taken from any service the shop signs tokens for.
func (c *config) checkShopTokens(from origins) error {
	shop := c.jwtKeys != "" || c.jwtSecret != ""
	switch {
	case shop && c.jwtIssuer == "":
		return fmt.Errorf("the shop's tokens need %s, the iss they carry", from.name("shopper-jwt-issuer"))
	case shop && c.jwtAudience == "":
		return fmt.Errorf("the shop's tokens need %s, an aud they carry for this service", from.name("shopper-jwt-audience"))
	case !shop && (c.jwtIssuer != "" || c.jwtAudience != ""):
		return fmt.Errorf("%s and %s are for the shop's tokens: give %s or %s too", from.name("shopper-jwt-issuer"), from.name("shopper-jwt-audience"), from.name("shopper-jwt-keys"), from.name("shopper-jwt-secret"))
	}
	return nil
}

func (c *config) checkNumbers(from origins) error {
	switch {
	case c.inventory < -1 || c.inventory > sale.MaxInventory:
		return fmt.Errorf("%s must be within 0..%d (or -1)", from.setting("inventory", c.inventory), sale.MaxInventory)
	case c.maxStreams < 1:
		return fmt.Errorf("%s must be at least 1", from.setting("max-streams", c.maxStreams))
	case c.maxUserStreams < 1:
		return fmt.Errorf("%s must be at least 1", from.setting("max-streams-per-user", c.maxUserStreams))
	}
	return nil
}

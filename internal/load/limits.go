package load

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// The API's limits that the baseline applies as the real server does. They
// mirror api/openapi.yaml: a bound the document's schemas state is read
// from the embedded document; the others are copied here, each saying
// where the document (or the server) states it.

// maxBody bounds a request body: the document answers 413
// body-too-large to a body "over 1 MiB" (components/responses/TooLarge).
const maxBody = 1 << 20

// holdTTL is how long the baseline says a hold lasts (Hold.expires_at): the
// real server's default, 5 minutes (its --hold-ttl), which the document
// leaves to the server.
const holdTTL = 5 * time.Minute

// shopperTokenTTL is how long the baseline's shopper tokens are valid: the
// 24 hours of the document's shopperToken security scheme.
const shopperTokenTTL = 24 * time.Hour

// maxInventory is the largest total_inventory POST /initialize takes: the
// maximum of InitializeRequest.total_inventory in the embedded document.
var maxInventory = sync.OnceValues(func() (int64, error) {
	spec, err := generated.GetSpec()
	if err != nil {
		return 0, fmt.Errorf("read the embedded API document: %w", err)
	}
	if spec.Components == nil {
		return 0, errors.New("the embedded API document has no components")
	}
	req := spec.Components.Schemas["InitializeRequest"]
	if req == nil || req.Value == nil {
		return 0, errors.New("the embedded API document has no InitializeRequest schema")
	}
	total := req.Value.Properties["total_inventory"]
	if total == nil || total.Value == nil || total.Value.Max == nil {
		return 0, errors.New("the embedded API document's InitializeRequest.total_inventory has no maximum")
	}
	return int64(*total.Value.Max), nil
})

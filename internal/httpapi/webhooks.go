package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/internal/live"
	"github.com/flashsale/flashsale/internal/sale"
	"github.com/flashsale/flashsale/internal/webhook"
)

// The events the shop is told of, by the type the document gives each.
// A kind in neither table is not sent: scheduled carries the draw's secret
// seed, and the initialized event of the same commit tells the schedule.
var (
	webhookUserTypes = map[sale.EventKind]generated.WebhookUserEventType{
		sale.EventQueued:    generated.WebhookUserEventTypeUserQueued,
		sale.EventJoined:    generated.WebhookUserEventTypeUserJoined,
		sale.EventGranted:   generated.WebhookUserEventTypeUserGranted,
		sale.EventPromoted:  generated.WebhookUserEventTypeUserPromoted,
		sale.EventConfirmed: generated.WebhookUserEventTypeUserConfirmed,
		sale.EventCancelled: generated.WebhookUserEventTypeUserCancelled,
		sale.EventExpired:   generated.WebhookUserEventTypeUserExpired,
		sale.EventLeft:      generated.WebhookUserEventTypeUserLeft,
	}
	webhookSaleTypes = map[sale.EventKind]generated.WebhookSaleEventType{
		sale.EventReset:       generated.WebhookSaleEventTypeSaleReset,
		sale.EventInitialized: generated.WebhookSaleEventTypeSaleInitialized,
		sale.EventDrawn:       generated.WebhookSaleEventTypeSaleDrawn,
		sale.EventClosed:      generated.WebhookSaleEventTypeSaleClosed,
	}
)

// WebhookType is the type of the webhook call for an event of kind, and
// whether one is sent for it at all.
func WebhookType(kind sale.EventKind) (string, bool) {
	if t, ok := webhookUserTypes[kind]; ok {
		return string(t), true
	}
	if t, ok := webhookSaleTypes[kind]; ok {
		return string(t), true
	}
	return "", false
}

// EncodeWebhook is the body of the webhook call for e (webhook.Encoder): a
// WebhookEvent of the document, with the user's state or the sale's status
// as s stood right after e, in the very shapes GET /users/{id} and GET
// /status answer.
func EncodeWebhook(e sale.Event, s webhook.State) ([]byte, bool, error) {
	at := e.At.UTC()
	if t, ok := webhookUserTypes[e.Kind]; ok {
		// No estimate of the wait: it is the live hub's, and would be
		// stale by the time the call arrives.
		u, err := userJSON(s.User(e.UserID), live.Estimate{})
		if err != nil {
			return nil, false, fmt.Errorf("webhook body of event %d: %w", e.Seq, err)
		}
		b, err := json.Marshal(generated.WebhookUserEvent{Type: t, Timestamp: at, Data: u})
		return b, err == nil, err
	}
	if t, ok := webhookSaleTypes[e.Kind]; ok {
		b, err := json.Marshal(generated.WebhookSaleEvent{Type: t, Timestamp: at, Data: statusJSON(s.Status())})
		return b, err == nil, err
	}
	return nil, false, nil
}

var _ webhook.Encoder = EncodeWebhook

func (h *handlers) GetWebhooks(ctx context.Context, _ generated.GetWebhooksRequestObject) (generated.GetWebhooksResponseObject, error) {
	endpoints, newest, err := h.as(ctx).webhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := generated.WebhookEndpoints{NewestEvent: int64(newest), Endpoints: make([]generated.WebhookEndpoint, 0, len(endpoints))}
	for _, e := range endpoints {
		out.Endpoints = append(out.Endpoints, generated.WebhookEndpoint{
			Url:         e.URL,
			Cursor:      int64(e.Cursor),
			Lag:         int64(newest - min(newest, e.Cursor)),
			Holder:      stringOrNil(e.Holder),
			LeaseUntil:  timeOrNil(e.LeaseUntil),
			DeadLetters: int64(e.DeadLetters),
			LastError:   stringOrNil(e.LastError),
			LastErrorAt: timeOrNil(e.LastErrorAt),
		})
	}
	return generated.GetWebhooks200JSONResponse(out), nil
}

// webhookEndpoints reads the endpoints a store keeps and its newest event;
// none for a store that keeps no cursors.
func webhookEndpoints(ctx context.Context, store sale.Store) ([]sale.Endpoint, uint64, error) {
	newest, err := store.Newest(ctx)
	if err != nil {
		return nil, 0, err
	}
	o, ok := store.(sale.Outbox)
	if !ok {
		return nil, newest, nil
	}
	endpoints, err := o.Endpoints(ctx)
	if errors.Is(err, sale.ErrNoOutbox) {
		return nil, newest, nil
	}
	return endpoints, newest, err
}

package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// TestReserveAnswersEncodeAsEncodingJSON holds the hand-appended bodies of
// POST /reserve to what encoding/json makes of the generated types, with
// every field set: a field the document gains fails here until the
// appender writes it too.
func TestReserveAnswersEncodeAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 7, 16, 40, 1, 123456000, time.UTC)
	for _, s := range []string{"alice", "m1-42", "", `a"b\c`, "<&>", "ålice", "\x00\x1f", "bad \xff utf-8", "\u2028"} {
		token := "eyJ." + s
		for _, tok := range []*string{&token, nil} {
			hold := generated.Hold{ExpiresAt: at, ReservationId: "3q2-7wAAAAAs9Qx0nE4ybA" + s, ShopperToken: tok, Status: generated.HoldStatusHeld, UserId: s + "u"}
			waiting := generated.Waitlisted{Message: "Added to waitlist" + s, ShopperToken: tok, Status: generated.WaitlistedStatusWaiting, UserId: s + "u", WaitlistPosition: -9223372036854775808}
			queued := generated.Queued{DrawCommitment: "c0ffee" + s, Message: "In the pre-queue" + s, OpensAt: at.Add(time.Hour), ShopperToken: tok, Status: generated.QueuedStatusQueued, UserId: s + "u"}
			checkAppender(t, hold, appendHold)
			checkAppender(t, waiting, appendWaitlisted)
			checkAppender(t, queued, appendQueued)
		}
	}
}

func checkAppender[T any](t *testing.T, v T, appendTo func([]byte, T) ([]byte, error)) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if f := rv.Type().Field(i); rv.Field(i).IsZero() && f.Name != "ShopperToken" {
			t.Fatalf("%T.%s is not set: set every field, so that the appender is checked on each", v, f.Name)
		}
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n') // as json.Encoder ends it
	got, err := appendTo([]byte("prefix"), v)
	if err != nil || string(got) != "prefix"+string(want) {
		t.Errorf("%T:\nappended      %s (%v)\nencoding/json %s", v, got, err, want)
	}
}

// TestReserveAnswerTimeError: a time encoding/json cannot write is an
// error here too, not a body with it half written.
func TestReserveAnswerTimeError(t *testing.T) {
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := json.Marshal(generated.Hold{ExpiresAt: far}); err == nil {
		t.Fatal("encoding/json wrote year 10000")
	}
	if _, err := appendHold(nil, generated.Hold{ExpiresAt: far}); err == nil {
		t.Fatal("appendHold wrote year 10000")
	}
}

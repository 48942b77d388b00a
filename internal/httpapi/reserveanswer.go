package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/flashsale/flashsale/generated"
)

// Header values every answer of a kind shares, set as the slice net/http
// keeps them in: Header.Set would make a new one for each answer. Nothing
// changes a header's slice in place (Add appends, which copies a full one).
var (
	headerJSON     = []string{"application/json"}
	headerNoStore  = []string{"no-store"}
	headerReplayed = []string{"true"}
)

// reserveAnswer is POST /reserve's 201 (a Hold) or 202 (Waitlisted or
// Queued): the headers and the bytes the generated Reserve201JSONResponse
// and Reserve202JSONResponse write, the body being exactly what
// encoding/json makes of the generated type (reserveanswer_test.go holds
// each to that, every field set). It is the path of every shopper of a
// sale's opening second, so the body is appended into one buffer with no
// reflection: a third of encoding/json's time, and no allocation but the
// buffer.
type reserveAnswer struct {
	status   int
	location string
	replayed bool
	body     *[]byte // from answerBuffers, returned once written
}

func (a reserveAnswer) VisitReserveResponse(w http.ResponseWriter) error {
	defer answerBuffers.Put(a.body) // Write copies it, or has sent it
	h := w.Header()
	h["Content-Type"] = headerJSON
	if a.replayed {
		h["Idempotency-Replayed"] = headerReplayed
	}
	h["Location"] = []string{a.location}
	w.WriteHeader(a.status)
	_, err := w.Write(*a.body)
	return err
}

// answerBuffers keep the buffers answers are appended into: one per
// request in flight rather than one more allocation per request.
var answerBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, answerBodySize)
	return &b
}}

// answerBodySize fits a reserve's answer, token included.
const answerBodySize = 512

func appendHold(buf []byte, v generated.Hold) ([]byte, error) {
	buf = append(buf, `{"expires_at":`...)
	buf, err := appendJSONTime(buf, v.ExpiresAt)
	buf = append(buf, `,"reservation_id":`...)
	buf = appendJSONString(buf, v.ReservationId)
	buf = appendToken(buf, v.ShopperToken)
	buf = append(buf, `,"status":`...)
	buf = appendJSONString(buf, string(v.Status))
	buf = append(buf, `,"user_id":`...)
	buf = appendJSONString(buf, v.UserId)
	return append(buf, "}\n"...), err
}

func appendWaitlisted(buf []byte, v generated.Waitlisted) ([]byte, error) {
	buf = append(buf, `{"message":`...)
	buf = appendJSONString(buf, v.Message)
	buf = appendToken(buf, v.ShopperToken)
	buf = append(buf, `,"status":`...)
	buf = appendJSONString(buf, string(v.Status))
	buf = append(buf, `,"user_id":`...)
	buf = appendJSONString(buf, v.UserId)
	buf = append(buf, `,"waitlist_position":`...)
	buf = strconv.AppendInt(buf, v.WaitlistPosition, 10)
	return append(buf, "}\n"...), nil
}

func appendQueued(buf []byte, v generated.Queued) ([]byte, error) {
	buf = append(buf, `{"draw_commitment":`...)
	buf = appendJSONString(buf, v.DrawCommitment)
	buf = append(buf, `,"message":`...)
	buf = appendJSONString(buf, v.Message)
	buf = append(buf, `,"opens_at":`...)
	buf, err := appendJSONTime(buf, v.OpensAt)
	buf = appendToken(buf, v.ShopperToken)
	buf = append(buf, `,"status":`...)
	buf = appendJSONString(buf, string(v.Status))
	buf = append(buf, `,"user_id":`...)
	buf = appendJSONString(buf, v.UserId)
	return append(buf, "}\n"...), err
}

// appendToken appends the optional shopper_token member (omitempty).
func appendToken(buf []byte, token *string) []byte {
	if token == nil {
		return buf
	}
	buf = append(buf, `,"shopper_token":`...)
	return appendJSONString(buf, *token)
}

// appendJSONString appends s as encoding/json writes it. A string with
// nothing to escape (ids, tokens, the API's own words) is copied; any
// other is left to encoding/json, whose escaping (HTML characters,
// control characters, invalid UTF-8, U+2028) is then exactly its own.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(buf, quoted...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// plainJSON marks the bytes encoding/json writes as they are: printable
// ASCII but the quote, the backslash and the HTML characters it escapes.
// A table, since a token is a few hundred bytes to look at.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONTime appends t as time.Time's MarshalJSON does: RFC 3339 with
// nanoseconds as needed, and the same error for a year it cannot write.
func appendJSONTime(buf []byte, t time.Time) ([]byte, error) {
	buf = append(buf, '"')
	buf, err := t.AppendText(buf)
	return append(buf, '"'), err
}

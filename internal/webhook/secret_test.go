package webhook

import (
	"strings"
	"testing"
)

// TestSignatureVector is the example of the Standard Webhooks
// specification, whose libraries every shop verifies with: the same
// secret, id, timestamp and body give the same signature.
func TestSignatureVector(t *testing.T) {
	keys, err := ParseSecrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
	if err != nil {
		t.Fatal(err)
	}
	got := signature(keys, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

// TestRotationSignsWithBoth: during a rotation the file holds two secrets,
// and a receiver that knows either one verifies the call.
func TestRotationSignsWithBoth(t *testing.T) {
	keys, err := ParseSecrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	both := strings.Fields(signature(keys, "msg_1", 1, []byte("{}")))
	if len(both) != 2 {
		t.Fatalf("signature %v: want one per secret", both)
	}
	for i := range keys {
		if one := signature(keys[i:i+1], "msg_1", 1, []byte("{}")); one != both[i] {
			t.Fatalf("secret %d signs %s alone and %s beside the other", i, one, both[i])
		}
	}
}

func TestParseSecretsRefuses(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"", "no secret"},
		{"  \n", "no secret"},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_"},
		{"whsec_not*base64", "not whsec_ followed by base64"},
		{"whsec_c2hvcnQ=", "5 bytes"},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "at most 2"},
	} {
		_, err := ParseSecrets(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSecrets(%q) = %v, want an error saying %q", tc.text, err, tc.want)
		}
		if err != nil && len(tc.text) > 10 && strings.Contains(err.Error(), tc.text[6:]) {
			t.Errorf("ParseSecrets(%q): the error %q shows the secret", tc.text, err)
		}
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	const least, most = 100, 1000
	for attempt, want := range []int64{100, 200, 400, 800, 1000, 1000} {
		for range 50 {
			d := int64(backoff(least, most, attempt))
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: pause %d outside [%d, %d]", attempt, d, want/2, want)
			}
		}
	}
	if d := backoff(least, most, 1000); d > most {
		t.Fatalf("attempt 1000: pause %v beyond the cap", d)
	}
}

func TestLabelHidesSecrets(t *testing.T) {
	got := Label("https://user:pass@shop.example/hooks?token=s3cret#frag")
	if got != "https://shop.example/hooks" {
		t.Fatalf("Label = %q", got)
	}
}

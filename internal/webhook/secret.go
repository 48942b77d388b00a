package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// secretPrefix marks a Standard Webhooks secret: whsec_ and the key in
// base64.
const secretPrefix = "whsec_"

// Limits of the secret file, written once here.
const (
	// maxSecrets: during a rotation the file holds the new secret and the
	// old one, and every call is signed by both.
	maxSecrets = 2
	// minKeyBytes: Standard Webhooks asks for 24 to 64 bytes.
	minKeyBytes = 24
	maxKeyBytes = 64
)

// ParseSecrets reads the secrets of a secret file: one or two whsec_
// secrets, separated by spaces or lines. Nothing of a secret appears in an
// error.
func ParseSecrets(text string) ([][]byte, error) {
	fields := strings.Fields(text)
	switch {
	case len(fields) == 0:
		return nil, errors.New("it holds no secret: write one whsec_<base64> secret in it (two during a rotation)")
	case len(fields) > maxSecrets:
		return nil, fmt.Errorf("it holds %d secrets: at most %d (the new and the old, during a rotation)", len(fields), maxSecrets)
	}
	keys := make([][]byte, 0, len(fields))
	for i, f := range fields {
		b64, ok := strings.CutPrefix(f, secretPrefix)
		if !ok {
			return nil, fmt.Errorf("secret %d does not start with %s", i+1, secretPrefix)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("secret %d is not %s followed by base64", i+1, secretPrefix)
		}
		if len(key) < minKeyBytes || len(key) > maxKeyBytes {
			return nil, fmt.Errorf("secret %d is %d bytes: Standard Webhooks secrets are %d to %d", i+1, len(key), minKeyBytes, maxKeyBytes)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// signature is the webhook-signature header of one call: a v1 signature
// by each key, space-separated, over "id.timestamp.body".
func signature(keys [][]byte, id string, unix int64, body []byte) string {
	var sb strings.Builder
	ts := strconv.FormatInt(unix, 10)
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return sb.String()
}

package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

func mustKeys(t *testing.T, ids ...string) string {
	t.Helper()
	var list []string
	for _, id := range ids {
		k, err := GenerateKeys(id)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, k)
	}
	return strings.Join(list, ",")
}

func mustCodec(t *testing.T, list string) *Codec {
	t.Helper()
	c, err := Parse(list)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const secret = "Zebediah Quux-Marmalade, aged 4, at 12 Example Road"

func plainPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"summary": secret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func encodeOne(t *testing.T, c *Codec, p *commonpb.Payload) *commonpb.Payload {
	t.Helper()
	out, err := c.Encode([]*commonpb.Payload{p})
	if err != nil || len(out) != 1 {
		t.Fatalf("encode: %v %d", err, len(out))
	}
	return out[0]
}

func TestRoundTrip(t *testing.T) {
	c := mustCodec(t, mustKeys(t, "k1"))
	p := plainPayload(t)
	enc := encodeOne(t, c, p)
	if string(enc.Metadata["encoding"]) != EncodingEncrypted || string(enc.Metadata[MetadataKeyID]) != "k1" || len(enc.Metadata) != 2 {
		t.Fatalf("metadata %v: want the encrypted marker and the key id only", enc.Metadata)
	}
	if bytes.Contains(enc.Data, []byte("Zebediah")) || bytes.Contains(enc.Data, []byte("json/plain")) {
		t.Fatal("the ciphertext carries the plain text or its encoding")
	}
	// A fresh nonce each time: the same payload never encrypts the same way.
	if again := encodeOne(t, c, p); bytes.Equal(again.Data, enc.Data) || bytes.Equal(again.Data[:12], enc.Data[:12]) {
		t.Fatal("two encryptions of one payload share a nonce")
	}
	dec, err := c.Decode([]*commonpb.Payload{enc})
	if err != nil {
		t.Fatal(err)
	}
	if string(dec[0].Data) != string(p.Data) || string(dec[0].Metadata["encoding"]) != "json/plain" {
		t.Fatalf("decoded %q %v", dec[0].Data, dec[0].Metadata)
	}

	// Through the data converter every client and worker uses, a value
	// (and a failure's message) comes back as it went in.
	dc, fc := Converters(c)
	var got map[string]string
	pl, err := dc.ToPayload(map[string]string{"summary": secret})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(pl.Data, []byte("Zebediah")) {
		t.Fatal("data converter left the value in clear")
	}
	if err := dc.FromPayload(pl, &got); err != nil || got["summary"] != secret {
		t.Fatalf("data converter round trip: %v %v", got, err)
	}
	f := fc.ErrorToFailure(temporal.NewApplicationError("rejected: "+secret, "conflict"))
	if strings.Contains(f.String(), "Zebediah") {
		t.Fatalf("failure converter left the message in clear: %s", f)
	}
	var appErr *temporal.ApplicationError
	if err := fc.FailureToError(f); !errors.As(err, &appErr) || appErr.Message() != "rejected: "+secret || appErr.Type() != "conflict" {
		t.Fatalf("failure round trip: %v", err)
	}
}

// Any changed byte of an encrypted payload, or relabelling it with another
// key id, is refused, never decoded into something else.
func TestTamperedPayloadIsRefused(t *testing.T) {
	c := mustCodec(t, mustKeys(t, "k1", "k2"))
	enc := encodeOne(t, c, plainPayload(t))
	for i := range enc.Data {
		bad := &commonpb.Payload{Metadata: enc.Metadata, Data: bytes.Clone(enc.Data)}
		bad.Data[i] ^= 0x01
		if _, err := c.Decode([]*commonpb.Payload{bad}); err == nil {
			t.Fatalf("byte %d flipped: decoded without error", i)
		}
	}
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(EncodingEncrypted), MetadataKeyID: []byte("k2")}, Data: enc.Data}
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil || !strings.Contains(err.Error(), `"k2"`) {
		t.Fatalf("relabelled key id: %v", err)
	}
	if _, err := c.Decode([]*commonpb.Payload{{Metadata: enc.Metadata, Data: enc.Data[:10]}}); err == nil {
		t.Fatal("truncated payload decoded")
	}
}

// A payload encrypted under the old key still decrypts once a new key is
// added in front of it; new payloads use the new key.
func TestRotation(t *testing.T) {
	old := mustKeys(t, "2026-01")
	before := mustCodec(t, old)
	enc := encodeOne(t, before, plainPayload(t))

	after := mustCodec(t, mustKeys(t, "2026-07")+","+old)
	if after.ActiveKeyID() != "2026-07" {
		t.Fatalf("active key %s, want the first", after.ActiveKeyID())
	}
	dec, err := after.Decode([]*commonpb.Payload{enc})
	if err != nil || !bytes.Contains(dec[0].Data, []byte("Zebediah")) {
		t.Fatalf("old payload after rotation: %v", err)
	}
	if id := string(encodeOne(t, after, plainPayload(t)).Metadata[MetadataKeyID]); id != "2026-07" {
		t.Fatalf("new payloads encrypted with %s", id)
	}
}

// A key that is no longer configured is an error naming its id, and
// nothing else.
func TestUnknownKey(t *testing.T) {
	enc := encodeOne(t, mustCodec(t, mustKeys(t, "retired")), plainPayload(t))
	_, err := mustCodec(t, mustKeys(t, "current")).Decode([]*commonpb.Payload{enc})
	var unknown *UnknownKeyError
	if !errors.As(err, &unknown) || unknown.ID != "retired" || !strings.Contains(err.Error(), `"retired"`) {
		t.Fatalf("unknown key: %v", err)
	}
	if strings.Contains(err.Error(), "current") || strings.Contains(err.Error(), "Zebediah") {
		t.Fatalf("error says more than the key id: %v", err)
	}
}

// Payloads written before encryption (or by anything else) pass through.
func TestPlainPassesThrough(t *testing.T) {
	c := mustCodec(t, mustKeys(t, "k1"))
	plain := plainPayload(t)
	nilPayload, _ := converter.GetDefaultDataConverter().ToPayload(nil)
	zlib := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/zlib")}, Data: []byte{1, 2, 3}}
	dec, err := c.Decode([]*commonpb.Payload{plain, nilPayload, zlib})
	if err != nil {
		t.Fatal(err)
	}
	if dec[0] != plain || dec[1] != nilPayload || dec[2] != zlib {
		t.Fatal("plain payloads were changed")
	}
	dc, _ := Converters(c)
	var got map[string]string
	if err := dc.FromPayload(plain, &got); err != nil || got["summary"] != secret {
		t.Fatalf("plain payload through the data converter: %v", err)
	}
}

func TestParseKeysRefusals(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31))
	for _, tc := range []struct{ list, want string }{
		{"", "no keys"},
		{" , ", "no keys"},
		{good, "entry 1: want id:base64key"},
		{":" + good, "entry 1: the key id"},
		{"k 1:" + good, "entry 1: the key id"},
		{"k\x1b[31m:" + good, "entry 1: the key id"},
		{"k\n1:" + good, "entry 1: the key id"},
		{strings.Repeat("k", 65) + ":" + good, "entry 1: the key id"},
		{"k1:" + good + ",k1:" + good, "entries 1 and 2 have the same key id"},
		{"k1:" + good + ",k2:" + short, "entry 2: the key is 31 bytes; want 32"},
		{"k1:not base64!", "entry 1: the key is not base64"},
		{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 16)), "want 32"},
		// Written the wrong way round: the key is not printed.
		{good + ":k1", "entry 1: the key id"},
	} {
		_, err := ParseKeys(tc.list)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.list, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), good) || strings.Contains(err.Error(), short) || strings.Contains(err.Error(), "\x1b") {
			t.Errorf("%q: the error prints key material or control characters: %v", tc.list, err)
		}
	}

	keys, err := ParseKeys(" new:" + good + " , old.2025_1-a:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)) + ",")
	if err != nil || len(keys) != 2 || keys[0].ID != "new" || keys[1].ID != "old.2025_1-a" {
		t.Fatalf("good list: %v %v", keys, err)
	}
	if s := keys[0].String(); strings.Contains(s, good) {
		t.Fatalf("a key prints its secret: %s", s)
	}
}

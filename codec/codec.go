// Package codec encrypts every payload escalate sends to Temporal (case
// inputs, update arguments and results, query results, memos, summaries,
// failure messages) with AES-256-GCM, so Temporal's history, database and
// Web UI hold ciphertext only.
//
// Keys come from configuration as "id:base64key[,id:base64key...]"
// (CODEC_KEYS): the first key encrypts, every key decrypts, and each
// encrypted payload names its key in its metadata, so keys can rotate
// while older histories stay readable.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// EncodingEncrypted marks a payload this codec encrypted, in the
	// payload's "encoding" metadata.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that encrypted a payload.
	MetadataKeyID = "encryption-key-id"

	// KeySize is the size of an AES-256 key.
	KeySize = 32
	// maxIDLen bounds a key id (it is stored with every payload).
	maxIDLen = 64
)

// Key is one named AES-256 key. Its secret is never printed.
type Key struct {
	ID     string
	secret []byte
}

// String names the key without its secret.
func (k Key) String() string { return "key " + k.ID }

// GoString names the key without its secret (for %#v).
func (k Key) GoString() string { return k.String() }

// GenerateKeys makes a new random key under id and returns it in the
// CODEC_KEYS format ("id:base64key").
func GenerateKeys(id string) (string, error) {
	if !validID(id) {
		return "", errors.New("a key id must be 1-64 letters, digits, '.', '_' or '-'")
	}
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(b), nil
}

// ParseKeys reads "id:base64key[,id:base64key...]". The first key is the
// one that encrypts. Errors name an entry by its position only: an entry
// written the wrong way round would otherwise print a key.
func ParseKeys(list string) ([]Key, error) {
	var keys []Key
	seen := map[string]int{}
	n := 0
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: want id:base64key", n)
		}
		id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
		if !validID(id) {
			return nil, fmt.Errorf("entry %d: the key id must be 1-%d letters, digits, '.', '_' or '-'", n, maxIDLen)
		}
		if first, dup := seen[id]; dup {
			return nil, fmt.Errorf("entries %d and %d have the same key id: each key needs its own", first, n)
		}
		seen[id] = n
		secret, err := decodeBase64(b64)
		if err != nil {
			return nil, fmt.Errorf("entry %d: the key is not base64", n)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("entry %d: the key is %d bytes; want %d (AES-256; make one with `openssl rand -base64 32`)", n, len(secret), KeySize)
		}
		keys = append(keys, Key{ID: id, secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys: give id:base64key[,id:base64key...], the first encrypts (make a key with `openssl rand -base64 32`)")
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Codec is a converter.PayloadCodec that encrypts with the active key and
// decrypts with any key it holds.
type Codec struct {
	active string
	ids    []string
	aeads  map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec from keys; the first is the active key.
func New(keys ...Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	c := &Codec{active: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("key id %q given twice", k.ID)
		}
		if len(k.secret) != KeySize {
			return nil, fmt.Errorf("key %q is not an AES-256 key", k.ID)
		}
		block, err := aes.NewCipher(k.secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads[k.ID] = aead
		c.ids = append(c.ids, k.ID)
	}
	return c, nil
}

// Parse is ParseKeys then New.
func Parse(list string) (*Codec, error) {
	keys, err := ParseKeys(list)
	if err != nil {
		return nil, err
	}
	return New(keys...)
}

// ActiveKeyID is the id of the key new payloads are encrypted with.
func (c *Codec) ActiveKeyID() string { return c.active }

// KeyIDs are the ids of every key, the active one first.
func (c *Codec) KeyIDs() []string { return append([]string(nil), c.ids...) }

// Encode encrypts each payload, whole (its metadata too), under the active
// key with a fresh random nonce. The key id is bound to the ciphertext as
// additional data, so a payload cannot be relabelled with another key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("encrypt payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.active),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.active)),
		}
	}
	return out, nil
}

// Decode decrypts each payload this codec's format marks as encrypted and
// passes every other payload through unchanged, so histories written
// before encryption stay readable. An error names the key id at most,
// never any content.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, &UnknownKeyError{ID: id}
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return payloads, fmt.Errorf("encrypted payload under key %q is too short to be one", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("encrypted payload under key %q failed authentication: it was altered, or encrypted with another key of that id", id)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return payloads, fmt.Errorf("payload decrypted with key %q is not a payload: %w", id, err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// UnknownKeyError: a payload was encrypted with a key this codec does not
// hold (a key removed from CODEC_KEYS too soon, or another deployment's).
type UnknownKeyError struct{ ID string }

func (e *UnknownKeyError) Error() string {
	id := e.ID
	if len(id) > maxIDLen {
		id = id[:maxIDLen] + "..."
	}
	if id == "" {
		return "encrypted payload names no key id"
	}
	return fmt.Sprintf("encrypted payload names key id %q, which is not in CODEC_KEYS", id)
}

// Converters are the data converter (payloads through c) and the failure
// converter (failure messages and stack traces moved into an encoded
// payload, so they are encrypted too) that every Temporal client and
// worker of escalate uses.
func Converters(c converter.PayloadCodec) (converter.DataConverter, converter.FailureConverter) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	fc := temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
	return dc, fc
}

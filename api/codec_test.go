package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"escalate/cases"
	"escalate/codec"
)

const (
	codecAdmin = "codec-test-admin"
	uiOrigin   = "http://127.0.0.1:8233"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func codecServer(t *testing.T, trustLocalUI bool, extra ...func(*Config)) (*codec.Codec, http.Handler) {
	t.Helper()
	keys, err := codec.GenerateKeys("k1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.Parse(keys)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{AdminToken: codecAdmin, Codec: c, TemporalUIOrigin: uiOrigin, CodecTrustsLocalUI: trustLocalUI, Log: quietLog()}
	for _, f := range extra {
		f(&cfg)
	}
	return c, New(cfg).Handler()
}

// encrypted is a JSON codec body holding one payload encrypted with c.
func encrypted(t *testing.T, c *codec.Codec, text string) []byte {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(text)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type codecCall struct {
	method, path, token, origin, remote string
	body                                []byte
	header                              map[string]string
}

func (cc codecCall) do(h http.Handler) *httptest.ResponseRecorder {
	if cc.method == "" {
		cc.method = http.MethodPost
	}
	if cc.path == "" {
		cc.path = "/codec/decode"
	}
	req := httptest.NewRequest(cc.method, cc.path, bytes.NewReader(cc.body))
	req.Header.Set("Content-Type", "application/json")
	if cc.token != "" {
		req.Header.Set("Authorization", "Bearer "+cc.token)
	}
	if cc.origin != "" {
		req.Header.Set("Origin", cc.origin)
	}
	for k, v := range cc.header {
		req.Header.Set(k, v)
	}
	req.RemoteAddr = "127.0.0.1:50000"
	if cc.remote != "" {
		req.RemoteAddr = cc.remote
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodedText(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var out commonpb.Payloads
	if err := protojson.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Payloads) != 1 {
		t.Fatalf("decode answer %s: %v", w.Body, err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Outside dev: an admin token is required, a browser page only from the
// Web UI's origin; the answer is the decrypted payload.
func TestCodecEndpointAccess(t *testing.T) {
	c, h := codecServer(t, false)
	body := encrypted(t, c, "Zebediah Quux-Marmalade")

	if w := (codecCall{body: body}).do(h); w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
	// The UI's origin from this machine is not enough outside dev.
	if w := (codecCall{body: body, origin: uiOrigin}).do(h); w.Code != http.StatusUnauthorized {
		t.Errorf("UI origin without a token outside dev: %d", w.Code)
	}
	w := (codecCall{body: body, token: codecAdmin, origin: "https://evil.example"}).do(h)
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" || strings.Contains(w.Body.String(), "Zebediah") {
		t.Errorf("admin token from another origin: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// No browser (the CLI, curl) with an admin token.
	if w := (codecCall{body: body, token: codecAdmin, remote: "203.0.113.9:4000"}).do(h); w.Code != 200 || decodedText(t, w) != "Zebediah Quux-Marmalade" {
		t.Errorf("admin: %d %s", w.Code, w.Body)
	}
	// The Web UI passing an admin's token.
	w = (codecCall{body: body, token: codecAdmin, origin: uiOrigin, header: map[string]string{"X-Namespace": "default"}}).do(h)
	if w.Code != 200 || decodedText(t, w) != "Zebediah Quux-Marmalade" ||
		w.Header().Get("Access-Control-Allow-Origin") != uiOrigin || w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("admin from the UI: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

// Preflights: the UI's origin gets what its codec requests need; another
// origin gets no Access-Control-* header at all, even when CORS_ORIGINS
// lists it for the rest of the API.
func TestCodecPreflight(t *testing.T) {
	_, h := codecServer(t, false, func(c *Config) { c.CORSOrigins = []string{"https://portal.example", uiOrigin} })
	for _, path := range []string{"/codec/decode", "/codec/encode"} {
		w := (codecCall{method: http.MethodOptions, path: path, origin: uiOrigin,
			header: map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace,authorization"}}).do(h)
		hd := w.Header()
		if w.Code != http.StatusNoContent || hd.Get("Access-Control-Allow-Origin") != uiOrigin || hd.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(hd.Get("Access-Control-Allow-Headers"), "X-Namespace") || !strings.Contains(hd.Get("Access-Control-Allow-Headers"), "Authorization") ||
			hd.Get("Access-Control-Allow-Methods") != "POST" {
			t.Errorf("%s preflight from the UI: %d %v", path, w.Code, hd)
		}
		w = (codecCall{method: http.MethodOptions, path: path, origin: "https://portal.example",
			header: map[string]string{"Access-Control-Request-Method": "POST"}}).do(h)
		for k := range w.Header() {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s preflight from another origin answered %s", path, k)
			}
		}
		if w.Code != http.StatusForbidden {
			t.Errorf("%s preflight from another origin: %d", path, w.Code)
		}
	}
}

// Under escalate dev only, the Web UI's own pages on this machine need no
// token; a forwarded-for header, another origin or another machine does not
// pass for it.
func TestCodecDevLocalUI(t *testing.T) {
	c, h := codecServer(t, true)
	body := encrypted(t, c, "Zebediah Quux-Marmalade")
	if w := (codecCall{body: body, origin: uiOrigin}).do(h); w.Code != 200 || decodedText(t, w) != "Zebediah Quux-Marmalade" {
		t.Errorf("dev UI on loopback: %d %s", w.Code, w.Body)
	}
	if w := (codecCall{body: body, origin: uiOrigin, remote: "[::1]:5000"}).do(h); w.Code != 200 {
		t.Errorf("dev UI on IPv6 loopback: %d", w.Code)
	}
	for name, cc := range map[string]codecCall{
		"another machine":           {body: body, origin: uiOrigin, remote: "192.0.2.7:5000"},
		"forwarded for loopback":    {body: body, origin: uiOrigin, remote: "192.0.2.7:5000", header: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}},
		"no origin (not a browser)": {body: body},
		"localhost instead of IP":   {body: body, origin: "http://localhost:8233"},
		"another port":              {body: body, origin: "http://127.0.0.1:9999"},
	} {
		w := cc.do(h)
		if w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 401 or 403", name, w.Code)
		}
		if strings.Contains(w.Body.String(), "Zebediah") {
			t.Errorf("%s: decoded", name)
		}
	}
}

// The endpoint speaks Temporal's protocol: the SDK's own remote codec
// client (what the CLI's --codec-endpoint uses) encodes and decodes
// through it.
func TestCodecEndpointSpeaksTemporalProtocol(t *testing.T) {
	c, h := codecServer(t, false)
	srv := httptest.NewServer(h)
	defer srv.Close()
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+codecAdmin)
			return nil
		},
	})
	plain, _ := converter.GetDefaultDataConverter().ToPayloads("Zebediah Quux-Marmalade", map[string]int{"stage": 3})
	enc, err := remote.Encode(plain.Payloads)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 2 || string(enc[0].Metadata["encoding"]) != codec.EncodingEncrypted || bytes.Contains(enc[0].Data, []byte("Zebediah")) {
		t.Fatalf("remote encode: %v", enc)
	}
	local, err := c.Decode(enc) // what the remote encoded, the local codec reads
	if err != nil || string(local[0].Data) != `"Zebediah Quux-Marmalade"` {
		t.Fatalf("local decode of remote encode: %v %v", local, err)
	}
	dec, err := remote.Decode(enc)
	if err != nil || string(dec[0].Data) != `"Zebediah Quux-Marmalade"` || string(dec[1].Data) != `{"stage":3}` {
		t.Fatalf("remote decode: %v %v", dec, err)
	}
}

func TestCodecEndpointRefusals(t *testing.T) {
	c, h := codecServer(t, false)
	other, _ := codec.Parse("gone:" + strings.Repeat("A", 43) + "=")
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	w := (codecCall{body: encrypted(t, other, "Zebediah"), token: codecAdmin}).do(h)
	_ = json.Unmarshal(w.Body.Bytes(), &eb)
	if w.Code != 400 || !strings.Contains(eb.Error.Message, `"gone"`) || strings.Contains(w.Body.String(), "Zebediah") {
		t.Errorf("unknown key: %d %s", w.Code, w.Body)
	}
	if w := (codecCall{body: []byte(`{"payloads": "no"}`), token: codecAdmin}).do(h); w.Code != 400 {
		t.Errorf("not payloads: %d", w.Code)
	}
	big := append([]byte(`{"payloads":[{"data":"`), bytes.Repeat([]byte("A"), codecMaxBody)...)
	big = append(big, `"}]}`...)
	if w := (codecCall{body: big, token: codecAdmin}).do(h); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("over 4 MiB: %d", w.Code)
	}
	// A body the size of a real history page is fine (the API's 64 KiB
	// limit is not the codec's).
	var many []*commonpb.Payload
	for range 40 {
		p, _ := converter.GetDefaultDataConverter().ToPayload(strings.Repeat("note ", 1000))
		many = append(many, p)
	}
	enc, _ := c.Encode(many)
	b, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	if w := (codecCall{body: b, token: codecAdmin}).do(h); w.Code != 200 || len(b) < 200<<10 {
		t.Errorf("a %d-byte body: %d", len(b), w.Code)
	}
	_, noCodec := codecServer(t, false, func(c *Config) { c.Codec = nil })
	if w := (codecCall{body: []byte(`{"payloads":[]}`), token: codecAdmin}).do(noCodec); w.Code != 404 {
		t.Errorf("no codec: %d", w.Code)
	}
}

// An operator signed in to the pages as an admin decodes through the Web
// UI (which sends the session cookie when set to include credentials);
// anyone else signed in is refused, and no session is still a 401.
func TestCodecSignedInOperator(t *testing.T) {
	sessions := func(r *http.Request) (cases.Principal, bool) {
		ck, err := r.Cookie("escalate_session")
		if err != nil {
			return cases.Principal{}, false
		}
		switch ck.Value {
		case "admin-session":
			return cases.Principal{Name: "Olu Operator", Email: "olu@ops.example", Role: cases.RoleAdmin}, true
		case "practitioner-session":
			return cases.Principal{Name: "Hana", Email: "hana@nhft.example", Role: cases.RolePractitioner}, true
		}
		return cases.Principal{}, false
	}
	c, h := codecServer(t, false, func(cfg *Config) { cfg.Sessions = sessions })
	body := encrypted(t, c, "Zebediah Quux-Marmalade")
	call := func(cookie string) *httptest.ResponseRecorder {
		return codecCall{body: body, origin: uiOrigin, header: map[string]string{"Cookie": "escalate_session=" + cookie}}.do(h)
	}
	if w := call("admin-session"); w.Code != 200 || decodedText(t, w) != "Zebediah Quux-Marmalade" {
		t.Errorf("admin's session: %d %s", w.Code, w.Body)
	}
	if w := call("practitioner-session"); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "Zebediah") {
		t.Errorf("a practitioner's session: %d %s", w.Code, w.Body)
	}
	if w := call("made-up"); w.Code != http.StatusUnauthorized {
		t.Errorf("an unknown session: %d", w.Code)
	}
	// Another site's page with an admin's session is still refused.
	w := codecCall{body: body, origin: "https://evil.example", header: map[string]string{"Cookie": "escalate_session=admin-session"}}.do(h)
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "Zebediah") {
		t.Errorf("admin's session from another origin: %d %s", w.Code, w.Body)
	}
}

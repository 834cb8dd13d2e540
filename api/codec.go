package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

// The codec endpoint: Temporal's remote codec protocol (POST
// {endpoint}/encode and {endpoint}/decode, a JSON {"payloads": [...]} in
// and out), through which the Temporal Web UI and CLI show an operator
// the decrypted payloads of a case's history. Decoding hands out what
// every case holds, so only admins may call it (who may read every case
// through /v1 anyway), and browsers only from the Web UI's origin.

const codecPrefix = "/codec/"

// codecMaxBody bounds a codec request: Temporal refuses payloads over
// 2 MiB, and JSON carries them in base64.
const codecMaxBody = 4 << 20

const (
	codecCORSMethods = "POST"
	// What the Web UI sends: X-Namespace always, Authorization (and
	// Authorization-Extras) when it passes the user's access token.
	codecCORSHeaders = "Authorization, Authorization-Extras, Content-Type, X-Namespace"
)

var (
	errCodecOrigin  = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "pages of this origin may not call the codec endpoint"}
	errCodecBody    = invalid(`the body must be Temporal's codec JSON: {"payloads": [{"metadata": {...}, "data": "..."}]}`, nil)
	errCodecTooBig  = &apiError{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Message: "the body is larger than the codec endpoint accepts (4 MiB)"}
	errCodecMissing = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "this server has no payload codec"}
)

// codecOrigin refuses browser pages of any origin but the Web UI's, marks
// responses readable by the UI, and answers its preflight requests.
func (s *Server) codecOrigin(c *gin.Context) {
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	origin := c.GetHeader("Origin")
	if origin != "" {
		if s.uiOrigin == "" || !strings.EqualFold(origin, s.uiOrigin) {
			s.log.WarnContext(c.Request.Context(), "codec: origin refused", "request_id", requestID(c))
			s.writeError(c, errCodecOrigin)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		// The UI may be set to include credentials; escalate sets no
		// cookies, so this lets its request through and grants nothing.
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if c.Request.Method == http.MethodOptions {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Allow", "POST, OPTIONS")
		if origin != "" {
			h.Set("Access-Control-Allow-Methods", codecCORSMethods)
			h.Set("Access-Control-Allow-Headers", codecCORSHeaders)
			h.Set("Access-Control-Max-Age", "600")
		}
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// codecAuthenticate requires a bearer token, or the session of an admin
// signed in to the pages (sent by the Web UI set to include credentials);
// under escalate dev, nothing for the Web UI's own pages on this machine:
// the dev server's UI has no sign-in, so it has no token to send.
func (s *Server) codecAuthenticate(c *gin.Context) {
	if s.codecTrustsLocalUI && c.GetHeader("Authorization") == "" && s.uiOrigin != "" &&
		strings.EqualFold(c.GetHeader("Origin"), s.uiOrigin) && fromLoopback(c.Request) {
		c.Set(principalKey, principal{TokenID: "dev-web-ui", Name: "Temporal Web UI (escalate dev, this machine)", Role: RoleAdmin})
		c.Next()
		return
	}
	if s.sessions != nil && c.GetHeader("Authorization") == "" {
		if p, ok := s.sessions(c.Request); ok {
			c.Set(principalKey, p)
			c.Next() // the codec's own rule refuses anyone but an admin
			return
		}
	}
	s.authenticate(c)
}

// fromLoopback: the connection itself comes from this machine. The peer
// address, never X-Forwarded-For, which anyone can write.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) codecEncode(c *gin.Context) error { return s.codecRun(c, true) }
func (s *Server) codecDecode(c *gin.Context) error { return s.codecRun(c, false) }

// codecRun reads the payloads, encodes or decodes them and answers with the
// result in the same JSON form.
func (s *Server) codecRun(c *gin.Context, encode bool) error {
	me := caller(c)
	if me.Role != RoleAdmin {
		return errForbidden
	}
	if s.codec == nil {
		return errCodecMissing
	}
	if c.Request.ContentLength > codecMaxBody {
		return errCodecTooBig
	}
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errCodecTooBig
	}
	if err != nil {
		return errCodecBody
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(body, &in); err != nil {
		return errCodecBody
	}
	run := s.codec.Decode
	if encode {
		run = s.codec.Encode
	}
	out, err := run(in.GetPayloads())
	if err != nil {
		// The codec's errors name a key id at most, never content: the
		// operator needs to know which key is missing.
		s.log.WarnContext(c.Request.Context(), "codec: payloads refused", "request_id", requestID(c), "error", err)
		return invalid("a payload could not be processed: "+err.Error(), nil)
	}
	resp, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		return err
	}
	s.log.InfoContext(c.Request.Context(), "codec", "request_id", requestID(c), "path", c.FullPath(), "payloads", len(out), "by", me.TokenID)
	c.Data(http.StatusOK, "application/json", resp)
	return nil
}

// dataConverter reads what the API takes back from Temporal outside a
// client call's result (a workflow's memo): through the codec when there
// is one.
func (s *Server) dataConverter() converter.DataConverter {
	if s.codec == nil {
		return converter.GetDefaultDataConverter()
	}
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), s.codec)
}

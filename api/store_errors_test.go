package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/store"
)

// A store call PostgreSQL did not answer in time is the contract's 503
// unavailable with Retry-After. It says nothing was changed unless a write
// may have reached PostgreSQL, whatever the request's method: a POST whose
// token lookup timed out changed nothing.
func TestStoreTimeoutIsUnavailable(t *testing.T) {
	s := New(Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tc := range []struct {
		method  string
		written bool
		want    *apiError
	}{
		{"GET", false, errUnavailable},
		{"POST", false, errUnavailable},
		{"POST", true, errMaybeDone},
	} {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest(tc.method, "/v1/cases/X/notes", nil)
		err := fmt.Errorf("load case: %w", &store.TimeoutError{Op: "GetCase", After: 5 * time.Second, MayHaveWritten: tc.written, Err: context.DeadlineExceeded})
		s.writeError(c, err)
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || body.Error.Code != "unavailable" || body.Error.Message != tc.want.Message {
			t.Errorf("%s, may have written %v: %d Retry-After %q %+v, want %q", tc.method, tc.written, rec.Code, rec.Header().Get("Retry-After"), body.Error, tc.want.Message)
		}
	}
}

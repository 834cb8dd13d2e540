package api

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"

	"escalate/internal/recordpage"
	"escalate/policies"
	"escalate/store"
)

type recordResponse struct {
	Ref          string              `json:"ref"`
	Events       []store.RecordEntry `json:"events"`
	Verification store.Verification  `json:"verification"`
}

// getRecord returns the case's written record with its verification: the
// events' keyed seals and links, their continuity, and the case row's seal.
func (s *Server) getRecord(c *gin.Context) error {
	cs, err := s.loadCase(c, canRead)
	if err != nil {
		return err
	}
	entries, v, err := s.store.Record(c.Request.Context(), cs.Ref)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, recordResponse{Ref: cs.Ref, Events: entries, Verification: v})
	return nil
}

// getRecordHTML renders the written record as a page a manager can print or
// attach to the child's file.
func (s *Server) getRecordHTML(c *gin.Context) error {
	cs, err := s.loadCase(c, canRead)
	if err != nil {
		return err
	}
	_, v, err := s.store.Record(c.Request.Context(), cs.Ref)
	if err != nil {
		return err
	}
	var pol *policies.Policy
	if p, ok := s.policies.Get(cs.Policy); ok {
		pol = &p
	}
	var buf bytes.Buffer
	if err := recordpage.Render(&buf, recordpage.New(cs, pol, v, s.now())); err != nil {
		return err
	}
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
	return nil
}

package api

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"escalate/internal/recordpage"
	"escalate/policies"
	"escalate/store"
	"escalate/workflows"
)

type recordResponse struct {
	Ref          string              `json:"ref"`
	Events       []store.RecordEntry `json:"events"`
	Verification store.Verification  `json:"verification"`
	// Policy names the policy the case runs under, as it was when the case
	// opened; null for a case opened before the record kept it.
	Policy *recordPolicy `json:"policy"`
}

// recordPolicy names the policy snapshot a case runs under.
type recordPolicy struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
}

// casePolicy is the policy the case runs under: its snapshot, kept with the
// case when it opened; for a case opened before snapshots were kept, the
// policy loaded now (nil when it is no longer loaded).
func (s *Server) casePolicy(c *gin.Context, cs workflows.Case) (*policies.Policy, *recordPolicy, error) {
	cp, err := s.store.CasePolicy(c.Request.Context(), cs.Ref)
	switch {
	case err == nil:
		return &cp.Policy, &recordPolicy{ID: cp.Policy.ID, Name: cp.Policy.Name, Source: cp.Policy.Source,
			SHA256: hex.EncodeToString(cp.Hash)}, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, nil, err
	}
	if p, ok := s.policies.Get(cs.Policy); ok {
		return &p, nil, nil
	}
	return nil, nil, nil
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
	_, named, err := s.casePolicy(c, cs)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, recordResponse{Ref: cs.Ref, Events: entries, Verification: v, Policy: named})
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
	pol, named, err := s.casePolicy(c, cs)
	if err != nil {
		return err
	}
	page := recordpage.New(cs, pol, v, s.now())
	if named != nil {
		page.PolicyHash = named.SHA256
	}
	var buf bytes.Buffer
	if err := recordpage.Render(&buf, page); err != nil {
		return err
	}
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
	return nil
}

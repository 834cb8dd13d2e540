package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"escalate/cases"
	"escalate/workflows"
)

// Starting a case: POST /v1/cases. Reading is in cases_read.go, the
// actions on a case in cases_act.go. The rules, the idempotency and the
// workflow are the core's (package cases), which the pages call too: the
// handlers bind the body, call it and answer.

type createCaseRequest = cases.StartRequest

func (s *Server) createCase(c *gin.Context) error {
	var req createCaseRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	cs, err := s.cases.Start(s.coreContext(c), caller(c), req, c.GetHeader("Idempotency-Key"))
	if err != nil {
		return err
	}
	return s.created(c, cs)
}

// coreContext is the request's context for the core, naming the request
// in its logs.
func (s *Server) coreContext(c *gin.Context) context.Context {
	return cases.WithRequestID(c.Request.Context(), requestID(c))
}

func (s *Server) created(c *gin.Context, cs workflows.Case) error {
	c.Header("Location", "/v1/cases/"+cs.Ref)
	c.JSON(http.StatusCreated, cs)
	return nil
}

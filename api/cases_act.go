package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"escalate/cases"
)

// The actions on a case: POST /v1/cases/{ref}/..., each an update of its
// workflow, answered once recorded, safe to retry with an Idempotency-Key.
// Each handler binds its body, builds the core's action (package cases:
// field rules, access rule, argument) and has the core take it.

type (
	noteRequest       = cases.NoteRequest
	contactRequest    = cases.ContactRequest
	escalationRequest = cases.EscalationRequest
	deadlineRequest   = cases.DeadlineRequest
	agreementRequest  = cases.AgreementRequest
	confirmRequest    = cases.ConfirmRequest
	reasonRequest     = cases.ReasonRequest
	outcomeRequest    = cases.OutcomeRequest
	reviewRequest     = cases.ReviewRequest
	meetingRequest    = cases.MeetingRequest
)

// act takes the action built (or refused) from the request and answers
// with the case as recorded.
func (s *Server) act(c *gin.Context, a cases.Action, err error) error {
	if err != nil {
		return err
	}
	r, err := s.cases.Act(s.coreContext(c), caller(c), c.Param("ref"), a, c.GetHeader("Idempotency-Key"))
	if err != nil {
		return err
	}
	if r.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", r.Body)
	return nil
}

func (s *Server) addNote(c *gin.Context) error {
	var req noteRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Note(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) addContact(c *gin.Context) error {
	var req contactRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Contact(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) escalate(c *gin.Context) error {
	var req escalationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Escalate(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) agreeDeadline(c *gin.Context) error {
	var req deadlineRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Deadline(caller(c), req)
	return s.act(c, a, err)
}

// confirmDeadline is the other side confirming the deadline one side
// proposed, where the policy's deadlines are agreed by both sides.
func (s *Server) confirmDeadline(c *gin.Context) error {
	var req confirmRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, s.cases.ConfirmDeadline(caller(c)), nil)
}

func (s *Server) proposeAgreement(c *gin.Context) error {
	var req agreementRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.ProposeAgreement(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) confirmAgreement(c *gin.Context) error {
	var req confirmRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	return s.act(c, s.cases.ConfirmAgreement(caller(c)), nil)
}

func (s *Server) rejectAgreement(c *gin.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.RejectAgreement(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) withdraw(c *gin.Context) error {
	var req reasonRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Withdraw(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) recordOutcome(c *gin.Context) error {
	var req outcomeRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Outcome(caller(c), req)
	return s.act(c, a, err)
}

// review is the partnership's check, on entry to a review stage, that the
// earlier stages were followed.
func (s *Server) review(c *gin.Context) error {
	var req reviewRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Review(caller(c), req)
	return s.act(c, a, err)
}

func (s *Server) recordMeeting(c *gin.Context) error {
	var req meetingRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a, err := s.cases.Meeting(caller(c), req)
	return s.act(c, a, err)
}

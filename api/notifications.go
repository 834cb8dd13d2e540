package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"escalate/store"
)

type undeliveredQuery struct {
	Status string `form:"status" binding:"omitempty,singleline,oneof=failed retrying"`
	Policy string `form:"policy" binding:"singleline,max=64"`
	Limit  *int   `form:"limit" binding:"omitempty,min=1,max=200"`
	Cursor string `form:"cursor" binding:"singleline,max=20"`
}

type undeliveredResponse struct {
	Notifications []store.Undelivered `json:"notifications"`
	NextCursor    *string             `json:"next_cursor"`
}

// undelivered lists, across cases, the notifications that did not reach
// their recipient (status failed, the default: every attempt used; or
// retrying), newest first: a person never told of a case is something the
// partnership must see and put right. The partnership sees its own
// policy's; admins every policy's, with each last error.
func (s *Server) undelivered(c *gin.Context) error {
	me := caller(c)
	if !oversees(me) {
		return errForbidden
	}
	var q undeliveredQuery
	if err := bindQuery(c, &q); err != nil {
		return err
	}
	policy, err := overseenPolicy(me, strings.TrimSpace(q.Policy))
	if err != nil {
		return err
	}
	f := store.UndeliveredFilter{Policy: policy, Status: q.Status}
	if q.Limit != nil {
		f.Limit = *q.Limit
	}
	if f.Status == "" {
		f.Status = store.NoteFailed
	}
	if q.Cursor != "" {
		id, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || id <= 0 {
			return invalidField("cursor", "not a cursor this API returned")
		}
		f.BeforeID = id
	}
	list, more, err := s.store.UndeliveredNotifications(c.Request.Context(), f)
	if err != nil {
		return err
	}
	if me.Role != RoleAdmin {
		for i := range list {
			list[i].LastError = "" // a mail server's answer is for operators
		}
	}
	resp := undeliveredResponse{Notifications: list}
	if resp.Notifications == nil {
		resp.Notifications = []store.Undelivered{}
	}
	if more {
		cur := strconv.FormatInt(list[len(list)-1].ID, 10)
		resp.NextCursor = &cur
	}
	c.JSON(http.StatusOK, resp)
	return nil
}

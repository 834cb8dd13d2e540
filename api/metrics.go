package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"escalate/store"
)

// metrics serves counts from PostgreSQL in the Prometheus text format:
// notifications by channel and status (failed ones are those that ran out
// of attempts), and cases by policy and status with how many are overdue.
// Counts only: nothing about a case or a person.
func (s *Server) metrics(c *gin.Context) error {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	notes, err := s.store.NotificationCounts(ctx)
	if err != nil {
		return err
	}
	cases, err := s.store.CaseCounts(ctx, s.now())
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# HELP escalate_notifications Notifications recorded, by channel and delivery status (failed: no attempts left).\n")
	b.WriteString("# TYPE escalate_notifications gauge\n")
	var failed int64
	for _, n := range notes {
		fmt.Fprintf(&b, "escalate_notifications{channel=%q,status=%q} %d\n", n.Channel, n.Status, n.Count)
		if n.Status == store.NoteFailed {
			failed += n.Count
		}
	}
	b.WriteString("# HELP escalate_notifications_failed Notifications that could not be delivered after every attempt.\n")
	b.WriteString("# TYPE escalate_notifications_failed gauge\n")
	fmt.Fprintf(&b, "escalate_notifications_failed %d\n", failed)
	b.WriteString("# HELP escalate_cases Cases by policy and status.\n")
	b.WriteString("# TYPE escalate_cases gauge\n")
	for _, cc := range cases {
		fmt.Fprintf(&b, "escalate_cases{policy=%q,status=%q} %d\n", cc.Policy, cc.Status, cc.Count)
	}
	b.WriteString("# HELP escalate_cases_overdue Open cases past their stage deadline, by policy.\n")
	b.WriteString("# TYPE escalate_cases_overdue gauge\n")
	overdue := map[string]int64{}
	var order []string
	for _, cc := range cases {
		if _, ok := overdue[cc.Policy]; !ok {
			order = append(order, cc.Policy)
		}
		overdue[cc.Policy] += cc.Overdue
	}
	for _, p := range order {
		fmt.Fprintf(&b, "escalate_cases_overdue{policy=%q} %d\n", p, overdue[p])
	}
	c.Data(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", []byte(b.String()))
	return nil
}

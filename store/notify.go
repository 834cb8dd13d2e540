package store

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"escalate/workflows"
)

// Notification channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Notification statuses.
const (
	NotePending  = "pending"  // recorded, not yet tried
	NoteSent     = "sent"     // delivered
	NoteLogged   = "logged"   // no mail server configured: logged only
	NoteRetrying = "retrying" // an attempt failed; another will come
	NoteFailed   = "failed"   // the last attempt failed
)

// Mail is a rendered email.
type Mail struct {
	Subject string
	Text    string
	HTML    string
}

// Renderer writes what is sent: an email to a person, and the JSON posted
// to an agency's webhook.
type Renderer interface {
	Mail(ev workflows.Event, r workflows.Recipient) Mail
	Webhook(ev workflows.Event, agency string) ([]byte, error)
}

// Notification is one recorded message: an email to one person, or a
// webhook delivery to one agency.
type Notification struct {
	ID             int64
	Ref            string
	Seq            int
	Channel        string
	Target         string // lower-cased email, or the agency for a webhook
	Agency         string
	RecipientName  string
	RecipientEmail string
	Why            string
	Subject        string
	Body           string // plain text, or the webhook's JSON
	HTML           string
	Status         string
	Attempts       int
	// Claims counts the dispatcher's claims of it (0 for a notification a
	// workflow delivers): more than its attempts, a dispatcher died
	// holding it and it was claimed again.
	Claims    int
	LastError string
	CreatedAt time.Time
	SentAt    *time.Time
}

// insertNotifications records, in the events' transaction, an email per
// recipient and a webhook delivery per involved agency that has a webhook.
// Each is keyed by (event, channel, target): a retry adds nothing.
func insertNotifications(ctx context.Context, tx pgx.Tx, in workflows.RecordEventsInput, render Renderer) error {
	hooks, err := webhookAgencies(ctx, tx)
	if err != nil {
		return err
	}
	for _, n := range in.Notices {
		ev, ok := eventBySeq(in.Events, n.Seq)
		if !ok {
			continue
		}
		agencies := map[string]bool{in.Case.Raiser.Agency: true, in.Case.Respondent.Agency: true}
		for _, r := range n.Recipients {
			m := render.Mail(ev, r)
			if _, err := tx.Exec(ctx, `
INSERT INTO notifications (ref, seq, channel, target, agency, recipient_name, recipient_email, why, subject, body, html_body, dispatch)
VALUES ($1, $2, 'email', $3, $4, $5, $3, $6, $7, $8, $9, $10)
ON CONFLICT (ref, seq, channel, target) DO NOTHING`,
				in.Ref, n.Seq, strings.ToLower(strings.TrimSpace(r.Email)), r.Agency, r.Name, r.Why, m.Subject, m.Text, m.HTML, in.Dispatch); err != nil {
				return err
			}
			if r.Agency != "" {
				agencies[r.Agency] = true
			}
		}
		var told []string
		for a := range agencies {
			if hooks[a] {
				told = append(told, a)
			}
		}
		sort.Strings(told)
		for _, agency := range told {
			body, err := render.Webhook(ev, agency)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `
INSERT INTO notifications (ref, seq, channel, target, agency, recipient_name, recipient_email, why, subject, body, dispatch)
VALUES ($1, $2, 'webhook', $3, $3, $3, '', 'the agency is involved in the case', $4, $5, $6)
ON CONFLICT (ref, seq, channel, target) DO NOTHING`,
				in.Ref, n.Seq, agency, ev.Type, string(body), in.Dispatch); err != nil {
				return err
			}
		}
	}
	return nil
}

func webhookAgencies(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `SELECT agency FROM webhooks`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

const notificationColumns = `id, ref, seq, channel, target, agency, recipient_name, recipient_email, why, subject,
	body, html_body, status, attempts, claims, coalesce(last_error, ''), created_at, sent_at`

func scanNotification(r pgx.CollectableRow) (Notification, error) {
	var n Notification
	err := r.Scan(&n.ID, &n.Ref, &n.Seq, &n.Channel, &n.Target, &n.Agency, &n.RecipientName, &n.RecipientEmail,
		&n.Why, &n.Subject, &n.Body, &n.HTML, &n.Status, &n.Attempts, &n.Claims, &n.LastError, &n.CreatedAt, &n.SentAt)
	return n, err
}

// PendingNotifications returns the notifications of the given events that
// have not gone yet: new, or waiting for another attempt.
func (s *Store) PendingNotifications(ctx context.Context, ref string, seqs []int) (_ []Notification, err error) {
	ctx, done := s.call(ctx, "PendingNotifications", reads, s.timeout)
	defer done(&err)
	return s.notifications(ctx, `WHERE ref = $1 AND seq = ANY($2) AND status IN ('pending', 'retrying') ORDER BY seq, id`, ref, seqs)
}

// Notifications returns every notification of a case.
func (s *Store) Notifications(ctx context.Context, ref string) (_ []Notification, err error) {
	ctx, done := s.call(ctx, "Notifications", reads, s.timeout)
	defer done(&err)
	return s.notifications(ctx, `WHERE ref = $1 ORDER BY seq, id`, ref)
}

func (s *Store) notifications(ctx context.Context, where string, args ...any) ([]Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+notificationColumns+` FROM notifications `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanNotification)
}

// MarkNotification records a delivery attempt of a workflow's
// DeliverNotifications activity: sent, logged, retrying or failed. A
// notification that has gone is never marked again, and one the
// dispatcher delivers is not the activity's to mark.
func (s *Store) MarkNotification(ctx context.Context, id int64, status string, sendErr error) (err error) {
	ctx, done := s.call(ctx, "MarkNotification", writes, s.timeout)
	defer done(&err)
	return s.mark(ctx, id, status, sendErr, false, 0)
}

// mark records an attempt at a notification delivered by the dispatcher
// (dispatch) or by a workflow's activity; a dispatched one is due again
// retryIn later.
func (s *Store) mark(ctx context.Context, id int64, status string, sendErr error, dispatch bool, retryIn time.Duration) error {
	var msg any
	if sendErr != nil {
		msg = sendErr.Error()
	}
	_, err := s.pool.Exec(ctx, `UPDATE notifications SET status = $2, attempts = attempts + 1, last_error = $3,
		sent_at = CASE WHEN $2 IN ('sent', 'logged') THEN now() ELSE sent_at END,
		due_at = CASE WHEN dispatch THEN now() + $5 * interval '1 millisecond' ELSE due_at END
		WHERE id = $1 AND dispatch = $4 AND status IN ('pending', 'retrying')`, id, status, msg, dispatch, retryIn.Milliseconds())
	return err
}

// DeliverySummary counts a case's notifications by status, and lists the
// ones that failed for good (without their error text, which stays in the
// database and the logs).
type DeliverySummary struct {
	Sent     int              `json:"sent"`
	Logged   int              `json:"logged"`
	Pending  int              `json:"pending"`
	Retrying int              `json:"retrying"`
	Failed   int              `json:"failed"`
	Failures []FailedDelivery `json:"failures"`
}

// FailedDelivery is one notification that could not be delivered.
type FailedDelivery struct {
	Seq      int    `json:"event_seq"`
	Channel  string `json:"channel"`
	To       string `json:"to"`
	Attempts int    `json:"attempts"`
}

// Deliveries summarises a case's notifications. It reads their statuses
// only, not what was sent: it runs on every read of a case.
func (s *Store) Deliveries(ctx context.Context, ref string) (_ DeliverySummary, err error) {
	ctx, done := s.call(ctx, "Deliveries", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT seq, channel, target, status, attempts FROM notifications
		WHERE ref = $1 ORDER BY seq, id`, ref)
	if err != nil {
		return DeliverySummary{}, err
	}
	type row struct {
		FailedDelivery
		status string
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.Seq, &x.Channel, &x.To, &x.status, &x.Attempts)
		return x, err
	})
	if err != nil {
		return DeliverySummary{}, err
	}
	sum := DeliverySummary{Failures: []FailedDelivery{}}
	for _, x := range got {
		switch x.status {
		case NoteSent:
			sum.Sent++
		case NoteLogged:
			sum.Logged++
		case NotePending:
			sum.Pending++
		case NoteRetrying:
			sum.Retrying++
		case NoteFailed:
			sum.Failed++
			sum.Failures = append(sum.Failures, x.FailedDelivery)
		}
	}
	return sum, nil
}

// NotificationCount is how many notifications have one channel and status.
type NotificationCount struct {
	Channel string
	Status  string
	Count   int64
}

// NotificationCounts counts every notification by channel and status, for
// /metrics.
func (s *Store) NotificationCounts(ctx context.Context) (_ []NotificationCount, err error) {
	ctx, done := s.call(ctx, "NotificationCounts", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT channel, status, count(*) FROM notifications GROUP BY channel, status ORDER BY channel, status`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (NotificationCount, error) {
		var c NotificationCount
		err := r.Scan(&c.Channel, &c.Status, &c.Count)
		return c, err
	})
}

// CaseCount is how many cases of a policy have one status.
type CaseCount struct {
	Policy  string
	Status  string
	Count   int64
	Overdue int64
}

// CaseCounts counts cases by policy and status, with how many of the open
// ones are past their stage deadline, for /metrics.
func (s *Store) CaseCounts(ctx context.Context, now time.Time) (_ []CaseCount, err error) {
	ctx, done := s.call(ctx, "CaseCounts", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT policy, status, count(*),
		count(*) FILTER (WHERE `+overdueSQL("$1")+`)
		FROM cases GROUP BY policy, status ORDER BY policy, status`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseCount, error) {
		var c CaseCount
		err := r.Scan(&c.Policy, &c.Status, &c.Count, &c.Overdue)
		return c, err
	})
}

// Webhook is an agency's endpoint for case events.
type Webhook struct {
	Agency    string    `json:"agency"`
	URL       string    `json:"url"`
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// PutWebhook sets an agency's webhook, replacing any earlier one.
func (s *Store) PutWebhook(ctx context.Context, w Webhook) (_ Webhook, err error) {
	ctx, done := s.call(ctx, "PutWebhook", writes, s.timeout)
	defer done(&err)
	err = s.pool.QueryRow(ctx, `INSERT INTO webhooks (agency, url, secret, created_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (agency) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret,
		created_by = EXCLUDED.created_by, created_at = now()
		RETURNING created_at`, w.Agency, w.URL, w.Secret, w.CreatedBy).Scan(&w.CreatedAt)
	return w, err
}

// GetWebhook returns an agency's webhook, or ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, agency string) (_ Webhook, err error) {
	ctx, done := s.call(ctx, "GetWebhook", reads, s.timeout)
	defer done(&err)
	var w Webhook
	err = s.pool.QueryRow(ctx, `SELECT agency, url, secret, created_at, created_by FROM webhooks WHERE agency = $1`, agency).
		Scan(&w.Agency, &w.URL, &w.Secret, &w.CreatedAt, &w.CreatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return Webhook{}, ErrNotFound
	}
	return w, err
}

// Webhooks lists every agency's webhook (secrets included: callers must not
// show them).
func (s *Store) Webhooks(ctx context.Context) (_ []Webhook, err error) {
	ctx, done := s.call(ctx, "Webhooks", reads, s.timeout)
	defer done(&err)
	rows, err := s.pool.Query(ctx, `SELECT agency, url, secret, created_at, created_by FROM webhooks ORDER BY agency`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		var w Webhook
		err := r.Scan(&w.Agency, &w.URL, &w.Secret, &w.CreatedAt, &w.CreatedBy)
		return w, err
	})
}

// DeleteWebhook removes an agency's webhook; ErrNotFound if it had none.
// Deliveries already recorded for it fail at their next attempt.
func (s *Store) DeleteWebhook(ctx context.Context, agency string) (err error) {
	ctx, done := s.call(ctx, "DeleteWebhook", writes, s.timeout)
	defer done(&err)
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhooks WHERE agency = $1`, agency)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

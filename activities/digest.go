package activities

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"escalate/store"
	"escalate/workflows"
)

// SendDigest mails a partnership's business office the meeting pack's link
// and its headline figures for the pack's default period at the instant
// the run was scheduled (from the last meeting, or the reporting year).
// Its Message-ID is the run's, so a retry after a send whose answer was
// lost is the same message.
func (a *Activities) SendDigest(ctx context.Context, in workflows.SendDigestInput) (workflows.DigestResult, error) {
	pol := in.Policy
	to := strings.TrimSpace(pol.BusinessOffice.Email)
	if to == "" {
		return workflows.DigestResult{}, temporal.NewNonRetryableApplicationError("policy "+pol.ID+" names no business office", workflows.ErrNoBusinessOffice, nil)
	}
	loc := time.UTC
	if clk, err := pol.Clock(); err == nil && clk.Location != nil {
		loc = clk.Location
	}
	meetings, err := a.Store.Meetings(ctx, pol.ID)
	if err != nil {
		return workflows.DigestResult{}, err
	}
	from, until, since := store.PackPeriod(meetings, in.At, loc)
	pack, err := a.Store.MeetingPack(ctx, store.PackFilter{Policy: pol, From: from, To: until, Now: in.At})
	if err != nil {
		return workflows.DigestResult{}, err
	}
	res := workflows.DigestResult{To: to, From: from.In(loc).Format(time.DateOnly), Until: until.Add(-time.Nanosecond).In(loc).Format(time.DateOnly),
		Raised: pack.Current.Raised, MessageID: "digest." + in.RunID + "@escalate"}
	if a.Mailer == nil {
		a.logger().Warn("digest not mailed: no SMTP_URL", "policy", pol.ID, "to", to)
		return res, nil
	}
	link := strings.TrimRight(a.PublicURL, "/") + "/partnership/pack?" + url.Values{"policy": {pol.ID}, "from": {res.From}, "to": {res.Until}}.Encode()
	next := in.NextMeeting
	if next == "" {
		next = store.NextMeeting(meetings, in.At, loc)
	}
	m := DigestMail(pol.Name, pol.BusinessOffice.Name, to, link, since, next, res, pack)
	m.MessageID = res.MessageID
	if err := a.Mailer.Send(ctx, m); err != nil {
		return workflows.DigestResult{}, fmt.Errorf("mail the digest to %s: %w", to, err)
	}
	a.logger().Info("digest mailed", "policy", pol.ID, "to", to, "from", res.From, "until", res.Until, "raised", res.Raised)
	return res, nil
}

// DigestMail is the digest's message: the figures that lead the pack, each
// beside the same period a year earlier, and the link. No case detail:
// the link asks the reader to sign in.
func DigestMail(policyName, toName, to, link, since, next string, r workflows.DigestResult, p store.Pack) Mail {
	resolved := func(f store.PackFigures) int {
		n := 0
		for _, t := range f.Resolution {
			n += t.Resolved
		}
		return n
	}
	lines := [][3]string{
		{"Escalations raised", fmt.Sprint(p.Current.Raised), fmt.Sprint(p.YearEarlier.Raised)},
		{"Resolved by agreement or outcome", fmt.Sprint(resolved(p.Current)), fmt.Sprint(resolved(p.YearEarlier))},
		{"Stage deadlines missed", fmt.Sprint(p.Current.DeadlinesMissed), fmt.Sprint(p.YearEarlier.DeadlinesMissed)},
		{"Directory agencies with no escalation either way", fmt.Sprint(len(p.Current.Without)), fmt.Sprint(len(p.YearEarlier.Without))},
		{"Learning and good practice recorded", fmt.Sprint(len(p.Current.Learning)), fmt.Sprint(len(p.YearEarlier.Learning))},
	}
	period := r.From + " to " + r.Until
	intro := "Escalations raised from " + period
	if since != "" {
		intro += " (since the meeting on " + since + ")"
	}
	intro += ", beside the same period a year earlier."
	var text, rows strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&text, "%s: %s (a year earlier: %s)\n", l[0], l[1], l[2])
		fmt.Fprintf(&rows, "<tr><th scope=\"row\" align=\"left\">%s</th><td align=\"right\">%s</td><td align=\"right\">%s</td></tr>", html.EscapeString(l[0]), l[1], l[2])
	}
	fmt.Fprintf(&text, "Open now: %d, of which overdue: %d\n", p.OpenNow, p.OverdueNow)
	meeting := ""
	if next != "" {
		meeting = "The next meeting is on " + next + ". "
	}
	subject := "Escalations digest for " + policyName + ": " + period
	body := fmt.Sprintf("%s\n\n%s\n\n%s\n%sThe meeting pack, with its charts, tables and learning, printable and as CSV and PDF (sign in first):\n%s\n",
		subject, intro, text.String(), meeting, link)
	htmlBody := fmt.Sprintf(`<p>%s</p><table><thead><tr><th></th><th>This period</th><th>A year earlier</th></tr></thead><tbody>%s</tbody></table>`+
		`<p>Open now: %d, of which overdue: %d.</p><p>%s<a href="%s">Open the meeting pack</a> (charts, tables and learning; printable, CSV and PDF).</p>`,
		html.EscapeString(intro), rows.String(), p.OpenNow, p.OverdueNow, html.EscapeString(meeting), html.EscapeString(link))
	return Mail{To: to, ToName: toName, Subject: subject, Body: body, HTML: htmlBody}
}

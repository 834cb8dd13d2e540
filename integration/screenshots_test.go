package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"escalate/workflows"
)

// TestScreenshots takes a PNG of every page, on a desktop and 320 pixels
// wide, into ESCALATE_SCREENSHOTS (make screenshots: docs/images), for the
// README and for people to look at. Without it, it does nothing.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("ESCALATE_SCREENSHOTS")
	if dir == "" {
		t.Skip("make screenshots runs it, with ESCALATE_SCREENSHOTS")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSystemWith(t, harness{pages: true})
	hana := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	sam := s.token("Sam Social", "sam@nct.example", "nct", "practitioner")
	start := func(policy, childRef, category, summary string, urgent bool) workflows.Case {
		var c workflows.Case
		if code := s.call("POST", "/v1/cases", hana, map[string]any{
			"policy": policy, "child_ref": childRef, "category": category, "summary": summary, "urgent": urgent,
			"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"},
		}, &c); code != http.StatusCreated {
			t.Fatalf("start a case: %d", code)
		}
		return c
	}
	// A case that has climbed to stage 2, with a note and a manager added.
	main := start("northamptonshire", "NCT/2026/0042", "threshold-csc-assessment",
		"Referral for a 4-year-old judged below the threshold for assessment; the health visitor disagrees.", false)
	if code := s.call("POST", "/v1/cases/"+main.Ref+"/notes", sam, map[string]string{"text": "Discussed with Hana on the phone; I will review the referral with my manager today."}, nil); code != 200 {
		t.Fatalf("note: %d", code)
	}
	if code := s.call("POST", "/v1/cases/"+main.Ref+"/escalations", hana, map[string]string{"reason": "No agreement at stage 1", "evidence": "Two calls on 7 and 8 December; no plan agreed."}, nil); code != 200 {
		t.Fatalf("escalate: %d", code)
	}
	if code := s.call("POST", "/v1/cases/"+main.Ref+"/contacts", sam, map[string]string{"side": "respondent", "name": "Mo Manager", "email": "mo@nct.example", "role": "Team manager"}, nil); code != 200 {
		t.Fatalf("contact: %d", code)
	}
	// An urgent one with an outcome proposed, one withdrawn, and a drill
	// left overdue at the partnership stage.
	urgent := start("northamptonshire", "NCT/2026/0107", "communication", "Information about a 15-year-old not shared before a strategy discussion.", true)
	if code := s.call("POST", "/v1/cases/"+urgent.Ref+"/agreement", sam, map[string]any{"outcome": "Information to be shared by 5pm today",
		"actions": []map[string]string{{"what": "Share the chronology", "who": "Sam Social", "by": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}}}, nil); code != 200 {
		t.Fatalf("propose: %d", code)
	}
	gone := start("northamptonshire", "NCT/2025/0988", "roles-responsibilities", "Which agency leads the early help assessment.", false)
	if code := s.call("POST", "/v1/cases/"+gone.Ref+"/withdrawal", hana, map[string]string{"reason": "Resolved on the phone"}, nil); code != 200 {
		t.Fatalf("withdraw: %d", code)
	}
	drill := start("northamptonshire-fastdrill", "NCT/2026/0311", "need-for-action", "Drift in the child protection plan.", false)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var cur workflows.Case
		s.call("GET", "/v1/cases/"+drill.Ref, hana, nil, &cur)
		if cur.Stage.Number == 5 && cur.Stage.Overdue {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the drill did not reach stage 5 overdue: %+v", cur.Stage)
		}
		time.Sleep(500 * time.Millisecond)
	}

	ctx := newBrowser(t, 1024, 900)
	shotOf := func(ctx context.Context, name string) {
		t.Helper()
		for _, v := range []struct {
			suffix string
			width  int64
		}{{"desktop", 1024}, {"320", 320}} {
			do(t, ctx, chromedp.EmulateViewport(v.width, 900))
			png := run(t, ctx, chromedp.FullScreenshot(100))
			if err := os.WriteFile(filepath.Join(dir, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do(t, ctx, chromedp.EmulateViewport(1024, 900))
	}
	shot := func(name string) { t.Helper(); shotOf(ctx, name) }
	do(t, ctx, chromedp.Navigate(s.url+"/"))
	shot("01-start")
	do(t, ctx, chromedp.Navigate(s.url+"/cases/"+main.Ref))
	waitFor(t, ctx, "What is your work email address?")
	shot("02-sign-in")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#email"), "sam@nct"), chromedp.Click(chromedp.CSS("main form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".govuk-error-summary")))
	shot("03-sign-in-error")
	do(t, ctx, chromedp.Clear(chromedp.CSS("#email")), chromedp.SendKeys(chromedp.CSS("#email"), "sam@nct.example"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	waitFor(t, ctx, "Check your email")
	shot("04-check-your-email")
	link := s.signInLink(t, "sam@nct.example")
	do(t, ctx, chromedp.Navigate(link))
	shot("05-sign-in-link")
	do(t, ctx, chromedp.Click(chromedp.CSS("form[action='/sign-in/link'] button")))
	waitFor(t, ctx, "Where it stands")
	shot("06-case")
	do(t, ctx, chromedp.Navigate(s.url+"/cases"))
	waitFor(t, ctx, "Your cases")
	shot("07-your-cases")
	do(t, ctx, chromedp.Navigate(s.url+"/cases?status=open&overdue=true"))
	waitFor(t, ctx, "Your cases")
	shot("08-your-cases-overdue")
	do(t, ctx, chromedp.Navigate(s.url+"/cases/"+urgent.Ref))
	waitFor(t, ctx, "Where it stands")
	shot("09-case-outcome-proposed")
	do(t, ctx, chromedp.Navigate(s.url+"/cases/"+main.Ref+"/record"))
	shot("10-written-record")
	do(t, ctx, chromedp.Navigate(s.url+"/cases/NSCP-2099-99999"))
	waitFor(t, ctx, "Page not found")
	shot("11-not-found")
	do(t, ctx, chromedp.Navigate(s.url+"/"))
	shot("12-start-signed-in")
	do(t, ctx, chromedp.Click(chromedp.CSS("form[action='/sign-out'] button")))
	waitFor(t, ctx, "You have signed out")
	shot("13-signed-out")
	do(t, ctx, chromedp.Navigate(link))
	waitFor(t, ctx, "does not work")
	shot("14-used-link")

	// Raising a disagreement, one question a page (Hana, in her own browser).
	hb := newBrowser(t, 1024, 900)
	s.signInAs(t, hb, "hana@nhft.example", "/raise")
	submit := chromedp.Click(chromedp.CSS("main form button[type=submit]"))
	waitFor(t, hb, "Which partnership's procedure")
	shotOf(hb, "15-raise-partnership")
	do(t, hb, chromedp.Click(chromedp.CSS(`input[name=policy][value="northamptonshire"]`)), submit)
	waitFor(t, hb, "What is the disagreement about?")
	shotOf(hb, "16-raise-category")
	do(t, hb, chromedp.Click(chromedp.CSS(`input[name=category][value="need-for-action"]`)), submit)
	waitFor(t, hb, "What is the child's record reference?")
	do(t, hb, chromedp.SendKeys(chromedp.CSS("#child_ref"), "Jo Bloggs"), submit)
	waitFor(t, hb, "There is a problem")
	shotOf(hb, "17-raise-child-refused")
	do(t, hb, chromedp.Clear(chromedp.CSS("#child_ref")), chromedp.SendKeys(chromedp.CSS("#child_ref"), "NCT/2026/0420"), submit)
	waitFor(t, hb, "Summarise the disagreement")
	do(t, hb, chromedp.SendKeys(chromedp.CSS("#summary"), "A 9-year-old's child in need plan has drifted: no review for four months. I think it needs a strategy discussion."))
	shotOf(hb, "18-raise-summary")
	do(t, hb, submit)
	waitFor(t, hb, "Who is the other professional?")
	do(t, hb, chromedp.SendKeys(chromedp.CSS("#resp_name"), "Sam Social"), chromedp.SendKeys(chromedp.CSS("#resp_email"), "sam@nct.example"),
		chromedp.SetValue(chromedp.CSS("#resp_agency"), "nct"))
	shotOf(hb, "19-raise-professional")
	do(t, hb, submit)
	waitFor(t, hb, "Is this disagreement urgent?")
	shotOf(hb, "20-raise-urgent")
	do(t, hb, chromedp.Click(chromedp.CSS("#urgent-no")), submit)
	waitFor(t, hb, "Check your answers")
	shotOf(hb, "21-raise-check-answers")
	do(t, hb, chromedp.Click(chromedp.CSS("form[action='/raise/check'] button")))
	raisedText := waitFor(t, hb, "Disagreement raised")
	shotOf(hb, "22-raise-confirmation")
	raised := regexp.MustCompile(`NSCP-\d{4}-\d{5}`).FindString(raisedText)

	// Sam's side: the case with what he may do, and proposing the outcome
	// (first sent empty: the error summary).
	sb := newBrowser(t, 1024, 900)
	s.signInAs(t, sb, "sam@nct.example", "/cases/"+raised)
	waitFor(t, sb, "What you can do")
	shotOf(sb, "23-case-what-you-can-do")
	do(t, sb, chromedp.Navigate(s.url+"/cases/"+raised+"/do/propose"))
	waitFor(t, sb, "The agreed outcome")
	do(t, sb, chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, sb, "There is a problem")
	shotOf(sb, "24-propose-outcome-refused")
	by := time.Now().AddDate(0, 0, 10)
	do(t, sb, chromedp.SendKeys(chromedp.CSS("#outcome"), "A strategy discussion is held this week; the plan is reviewed."),
		chromedp.SendKeys(chromedp.CSS("#action0_what"), "Convene a strategy discussion"), chromedp.SendKeys(chromedp.CSS("#action0_who"), "Sam Social"),
		chromedp.SendKeys(chromedp.CSS("#action0_by-day"), fmt.Sprint(by.Day())), chromedp.SendKeys(chromedp.CSS("#action0_by-month"), fmt.Sprint(int(by.Month()))),
		chromedp.SendKeys(chromedp.CSS("#action0_by-year"), fmt.Sprint(by.Year())))
	shotOf(sb, "25-propose-outcome")
	do(t, sb, chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, sb, "Your proposed outcome is recorded")
	shotOf(sb, "26-case-outcome-proposed-by-me")

	// Hana confirms it, having read it.
	do(t, hb, chromedp.Navigate(s.url+"/cases/"+raised+"/do/confirm"))
	waitFor(t, hb, "The outcome proposed by Sam Social")
	shotOf(hb, "27-confirm-outcome")
	do(t, hb, chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, hb, "the disagreement is resolved")
	shotOf(hb, "28-case-resolved")

	// Escalating the stage-2 case: the next stage asks for evidence.
	do(t, hb, chromedp.Navigate(s.url+"/cases/"+main.Ref+"/do/escalate"))
	waitFor(t, hb, "Why are you escalating?")
	shotOf(hb, "29-escalate")

	// A manager of the other agency steps in as their side's line manager.
	s.token("Mo Manager", "mo@nct.example", "nct", "manager")
	mb := newBrowser(t, 1024, 900)
	s.signInAs(t, mb, "mo@nct.example", "/cases/"+raised)
	waitFor(t, mb, "What you can do")
	do(t, mb, chromedp.Navigate(s.url+"/cases/"+urgent.Ref+"/do/step-in"))
	waitFor(t, mb, "I am the line manager for this side")
	shotOf(mb, "30-step-in")

	// The partnership, at the drill's partnership stage.
	s.token("Pat Partnership", "pat@nscp.example", "northamptonshire-fastdrill", "partnership")
	pb := newBrowser(t, 1024, 900)
	s.signInAs(t, pb, "pat@nscp.example", "/cases/"+drill.Ref)
	waitFor(t, pb, "What you can do")
	shotOf(pb, "31-case-partnership")
	do(t, pb, chromedp.Navigate(s.url+"/cases/"+drill.Ref+"/do/meeting"))
	waitFor(t, pb, "When")
	shotOf(pb, "32-partnership-meeting")
	day := time.Now()
	do(t, pb, chromedp.SendKeys(chromedp.CSS("#at-day"), fmt.Sprint(day.Day())), chromedp.SendKeys(chromedp.CSS("#at-month"), fmt.Sprint(int(day.Month()))),
		chromedp.SendKeys(chromedp.CSS("#at-year"), fmt.Sprint(day.Year())), chromedp.SendKeys(chromedp.CSS("#at-time"), "10:00"),
		chromedp.Click(chromedp.CSS("#declined-1")), chromedp.Click(chromedp.CSS("#submit")))
	waitFor(t, pb, "The meeting is recorded")
	do(t, pb, chromedp.Navigate(s.url+"/cases/"+drill.Ref+"/do/outcome"))
	waitFor(t, pb, "Is the disagreement resolved?")
	shotOf(pb, "33-partnership-outcome")
}

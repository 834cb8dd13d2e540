package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"escalate/api"
	"escalate/policies"
	"escalate/workflows"
)

// The policy a case runs under is kept with the case when it opens (issue
// 13: the record named stages from the policy loaded today, so changing a
// policy file rewrote every running case's record): the record names it
// with its hash, and the record page names the stages from it even when the
// API has no such policy loaded any more.
func TestRecordKeepsThePolicyTheCaseRanUnder(t *testing.T) {
	s := startSystem(t)
	raiser := s.token("Hana Visitor", "hana@nhft.example", "nhft", "practitioner")
	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{"policy": "northamptonshire-fastdrill", "child_ref": "POL/1",
		"category": "communication", "summary": "s",
		"respondent": map[string]string{"name": "Sam Social", "email": "sam@nct.example", "agency": "nct"}}, &c); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var rec struct {
		Policy *struct {
			ID, Name, SHA256 string
		} `json:"policy"`
	}
	if code := s.call("GET", "/v1/cases/"+c.Ref+"/record", raiser, nil, &rec); code != 200 || rec.Policy == nil ||
		rec.Policy.ID != "northamptonshire-fastdrill" || len(rec.Policy.SHA256) != 64 {
		t.Fatalf("record's policy: %d %+v", code, rec.Policy)
	}
	pols, err := policies.Load("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	live, _ := pols.Get("northamptonshire-fastdrill")
	// The snapshot is the policy with its bank holidays resolved into
	// dates for the case (and no closures were recorded).
	snap, err := policies.Snapshot(live, c.CreatedAt, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(snap)
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != rec.Policy.SHA256 {
		t.Errorf("policy hash %s is not the snapshot's", rec.Policy.SHA256)
	}

	// An API whose policies no longer include the drill (the file was
	// removed): the record page still names the case's stages.
	builtIn, err := policies.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := builtIn.Get("northamptonshire-fastdrill"); ok {
		t.Fatal("the built-in policies include the test drill")
	}
	other := httptest.NewServer(api.New(api.Config{Store: s.store, Temporal: s.temporal, Policies: builtIn,
		AdminToken: adminToken, Log: quietSlog()}).Handler())
	defer other.Close()
	o := &system{t: t, url: other.URL}
	code, _, body := o.getRaw(t, "/v1/cases/"+c.Ref+"/record.html", raiser, "text/html")
	if code != 200 || !strings.Contains(string(body), "Stage 1: "+live.Stages[0].Name) ||
		strings.Count(string(body), rec.Policy.SHA256) != 1 || !strings.Contains(string(body), live.Name) {
		t.Errorf("record page without the live policy: %d\n%s", code, body)
	}
}

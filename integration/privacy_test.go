package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"escalate/workflows"
)

// What people typed and who they are, recognisable anywhere.
var privateStrings = []string{
	"Zebediah Quux-Marmalade", "zebediah.quux@nhft.example", // the raiser
	"Ottoline Fennimore-Spratt", "ottoline.fennimore@nct.example", // the respondent
	"Wilhelmina Drabblethorpe",         // a child's name, in the summary
	"Persimmon Gallowglass",            // in a note
	"Quillon assessment by Tuesday",    // an agreement's outcome
	"Marmaduke Thistlewaite was never", // a rejection's reason
}

// A case's content never reaches Temporal in clear: not its history as any
// client of the namespace reads it (the Web UI without the codec), not its
// description (memo, summary), not the dev server's SQLite database on
// disk. Through the codec endpoint (as the Web UI and CLI use it, with an
// admin's token) the same history reads in full.
func TestTemporalHoldsNoCaseContentInClear(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	s := startSystemWith(t, systemOptions{temporalDB: dbFile})
	raiser := s.token("Zebediah Quux-Marmalade", "zebediah.quux@nhft.example", "nhft", "practitioner")
	respondent := s.token("Ottoline Fennimore-Spratt", "ottoline.fennimore@nct.example", "nct", "practitioner")

	var c workflows.Case
	if code := s.call("POST", "/v1/cases", raiser, map[string]any{
		"policy": "northamptonshire", "child_ref": "NCT/2026/7781", "category": "communication",
		"summary":    "Wilhelmina Drabblethorpe (aged 3) was seen with unexplained bruising; the referral was judged below threshold.",
		"respondent": map[string]string{"name": "Ottoline Fennimore-Spratt", "email": "ottoline.fennimore@nct.example", "agency": "nct"},
	}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	path := "/v1/cases/" + c.Ref
	for _, step := range []struct {
		path, token string
		body        map[string]any
	}{
		{path + "/notes", raiser, map[string]any{"text": "Spoke to Persimmon Gallowglass, the child's aunt, about the bruising."}},
		{path + "/agreement", raiser, map[string]any{"outcome": "Quillon assessment by Tuesday"}},
		{path + "/agreement/reject", respondent, map[string]any{"reason": "Marmaduke Thistlewaite was never asked what he saw."}},
	} {
		if code := s.call("POST", step.path, step.token, step.body, nil); code != 200 {
			t.Fatalf("%s: %d", step.path, code)
		}
	}
	// The case as the API shows it holds every string: they were written.
	var read workflows.Case
	s.call("GET", path, raiser, nil, &read)
	if shown := fmt.Sprintf("%+v", read); !containsAll(shown, privateStrings[:len(privateStrings)-1]) {
		t.Fatalf("the API does not show what was written: %s", shown)
	}

	// A client without the codec: what the Web UI shows with no codec
	// endpoint, and what anyone with access to the namespace reads.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plain, err := client.Dial(client.Options{HostPort: s.dev.FrontendHostPort(), Namespace: "default", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	// The control: a workflow started without the codec, whose input the
	// same searches must find, so a search that finds nothing means
	// something.
	var r [8]byte
	_, _ = rand.Read(r[:])
	control := "Plain-Control-" + hex.EncodeToString(r[:])
	if _, err := plain.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "privacy-control", TaskQueue: "nobody-polls"}, "Control", control); err != nil {
		t.Fatal(err)
	}

	rawCase, payloads := rawHistory(t, plain, c.Ref)
	desc, err := plain.DescribeWorkflowExecution(ctx, c.Ref, "")
	if err != nil {
		t.Fatal(err)
	}
	rawCase = append(rawCase, dump(t, desc)...)
	if found := found(rawCase, privateStrings); len(found) > 0 {
		t.Errorf("the raw history of %s holds in clear: %q", c.Ref, found)
	}
	if rawControl, _ := rawHistory(t, plain, "privacy-control"); !bytes.Contains(rawControl, []byte(control)) {
		t.Fatalf("the control's input is not found in its raw history: the search proves nothing")
	}
	if len(payloads) < 10 {
		t.Fatalf("only %d payloads in the case's history", len(payloads))
	}
	for i, p := range payloads {
		if enc := string(p.GetMetadata()["encoding"]); enc != "binary/encrypted" {
			t.Errorf("payload %d of the case's history is %q, not encrypted", i, enc)
		}
	}

	// The dev server's database file, and its write-ahead log where the
	// latest writes may still be.
	var disk []byte
	for _, f := range []string{dbFile, dbFile + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		disk = append(disk, b...)
	}
	if !bytes.Contains(disk, []byte(control)) {
		t.Fatalf("the control's input is not in %s (%d bytes with its WAL): the search proves nothing", dbFile, len(disk))
	}
	if found := found(disk, privateStrings); len(found) > 0 {
		t.Errorf("Temporal's database file holds in clear: %q", found)
	}

	// Through the codec endpoint the same payloads decode, for an admin
	// only, from no browser or the Web UI's origin only.
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	if err != nil {
		t.Fatal(err)
	}
	for name, try := range map[string]struct {
		token, origin string
		want          int
	}{
		"no credentials":                     {"", "", 401},
		"the Web UI's origin, no token":      {"", testUIOrigin, 401}, // not escalate dev
		"a party to the case":                {raiser, "", 403},
		"a partnership lead":                 {s.token("Pat Lead", "pat@nscp.example", "northamptonshire", "partnership"), testUIOrigin, 403},
		"an admin, from another site's page": {adminToken, "https://attacker.example", 403},
	} {
		code, out := s.codec(t, "/codec/decode", try.token, try.origin, body)
		if code != try.want {
			t.Errorf("%s: %d, want %d", name, code, try.want)
		}
		if found := found(out, privateStrings); len(found) > 0 {
			t.Errorf("%s: answered with %q", name, found)
		}
	}
	code, out := s.codec(t, "/codec/decode", adminToken, testUIOrigin, body)
	if code != 200 {
		t.Fatalf("admin decode: %d %s", code, out)
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal(out, &decoded); err != nil || len(decoded.Payloads) != len(payloads) {
		t.Fatalf("admin decode answer: %v, %d payloads for %d", err, len(decoded.Payloads), len(payloads))
	}
	var clear []byte
	for _, p := range decoded.Payloads {
		clear = append(clear, p.GetData()...)
	}
	if missing := notFound(clear, privateStrings); len(missing) > 0 {
		t.Errorf("decoded through the codec, the history lacks %q", missing)
	}

	// The operator's CLI, given the codec endpoint and an admin token,
	// shows the history in clear; without them, it does not.
	cli, _ := filepath.Abs(env("TEMPORAL_CLI", "../bin/temporal"))
	show := func(extra ...string) []byte {
		args := append([]string{"workflow", "show", "--address", s.dev.FrontendHostPort(), "--namespace", "default",
			"--workflow-id", c.Ref, "--output", "json"}, extra...)
		out, err := exec.CommandContext(ctx, cli, args...).Output()
		if err != nil {
			t.Fatalf("temporal workflow show: %v\n%s", err, out)
		}
		// Payload data is base64 in the JSON: read it.
		var doc any
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("temporal workflow show: %v\n%.2000s", err, out)
		}
		return append(out, payloadData(doc)...)
	}
	if found := found(show(), privateStrings); len(found) > 0 {
		t.Errorf("the CLI without the codec shows %q", found)
	}
	if out := show("--codec-endpoint", s.url+"/codec", "--codec-auth", "Bearer "+adminToken); len(notFound(out, privateStrings)) > 0 {
		t.Errorf("the CLI through the codec endpoint lacks %q", notFound(out, privateStrings))
	}
}

// rawHistory is a workflow's history as c reads it, each event both in
// protobuf's wire form (where payload bytes are as stored) and as JSON,
// and the payloads it holds.
func rawHistory(t *testing.T, c client.Client, id string) ([]byte, []*commonpb.Payload) {
	t.Helper()
	var raw []byte
	var payloads []*commonpb.Payload
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, dump(t, ev)...)
		err = proxy.VisitPayloads(context.Background(), ev, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
				payloads = append(payloads, p...)
				return p, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return raw, payloads
}

// payloadData is every "data" value (base64) in a JSON document, decoded.
func payloadData(v any) []byte {
	var out []byte
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if str, ok := x.(string); ok && k == "data" {
				if b, err := base64.StdEncoding.DecodeString(str); err == nil {
					out = append(out, b...)
				}
				continue
			}
			out = append(out, payloadData(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, payloadData(x)...)
		}
	}
	return out
}

func dump(t *testing.T, m proto.Message) []byte {
	t.Helper()
	wire, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(wire, js...)
}

// codec posts body to the API's codec endpoint.
func (s *system) codec(t *testing.T, path, token, origin string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// found are the strings b holds, in any case.
func found(b []byte, strs []string) []string {
	var out []string
	low := bytes.ToLower(b)
	for _, s := range strs {
		if bytes.Contains(low, []byte(strings.ToLower(s))) {
			out = append(out, s)
		}
	}
	return out
}

func notFound(b []byte, strs []string) []string {
	var out []string
	for _, s := range strs {
		if !bytes.Contains(b, []byte(s)) {
			out = append(out, s)
		}
	}
	return out
}

func containsAll(s string, strs []string) bool {
	return len(notFound([]byte(s), strs)) == 0
}

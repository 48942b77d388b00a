package web_test

// The page repeats two of the document's rules so that a shopper is told in
// words before anything is sent: the problem types it branches on, and what
// a user id may be. These tests hold the page to the document, so that a
// change to one shows up in the other.

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flashsale/flashsale/generated"
	"github.com/flashsale/flashsale/web"
)

// Every problem type the page names is one of the document's.
func TestThePagesProblemTypesAreTheDocuments(t *testing.T) {
	src, err := fs.ReadFile(web.Files(), "api.js")
	if err != nil {
		t.Fatal(err)
	}
	types := regexp.MustCompile(`"(/problems/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(types) == 0 {
		t.Fatal("api.js names no problem type: has the page stopped branching on them?")
	}
	for _, m := range types {
		if !generated.ProblemType(m[1]).Valid() {
			t.Errorf("api.js names %s, which is not in api/openapi.yaml's ProblemType", m[1])
		}
	}
}

// The page accepts a name exactly when the document accepts it as a
// user_id: name.js's nameProblem, run by Node.js, against the UserID schema.
func TestThePagesUserIDRuleIsTheDocuments(t *testing.T) {
	node := nodeFor(t)
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	schema := spec.Components.Schemas["UserID"].Value
	names := []string{
		"a", "alice", "Alice_01", "a.b", "x@shop", "a:b-c", "..a", "_",
		".", "..", "...", "", "al ice", "al/ice", "ålice", "a%41", "a+b", "a\"b",
		strings.Repeat("a", 64), strings.Repeat("a", 65),
		strings.Repeat("b", int(*schema.MaxLength)), strings.Repeat("b", int(*schema.MaxLength)+1),
	}
	list, err := json.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	script := `import { nameProblem } from "./static/name.js";
const names = ` + string(list) + `;
console.log(JSON.stringify(names.map((n) => nameProblem(n) === "")));`
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, exitStderr(err))
	}
	var pageAccepts []bool
	if err := json.Unmarshal(out, &pageAccepts); err != nil || len(pageAccepts) != len(names) {
		t.Fatalf("node printed %q: %v", out, err)
	}
	for i, name := range names {
		docAccepts := schema.VisitJSON(name, openapi3.MultiErrors()) == nil
		if pageAccepts[i] != docAccepts {
			t.Errorf("user id %q (%d characters): the page accepts it %v, api/openapi.yaml %v", name, len(name), pageAccepts[i], docAccepts)
		}
	}
}

// nodeFor is the path of Node.js; without it the test skips, or fails when
// FLASHSALE_REQUIRE_NODE is set (as CI sets it).
func nodeFor(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err != nil {
		msg := "node is not installed: checking the page's user id rule needs Node.js (apt-get install -y nodejs)"
		if os.Getenv("FLASHSALE_REQUIRE_NODE") != "" {
			t.Fatal(msg + ", and FLASHSALE_REQUIRE_NODE is set")
		}
		t.Skip(msg)
	}
	return path
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

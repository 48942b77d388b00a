package web_test

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flashsale/flashsale/generated"
)

// The page reads the events of a user's stream by name, and passes over
// a name it does not know: so an event the document adds and the page
// misses would be lost without a word. events.js is the page's one list;
// it must be exactly the table of events in GET /users/{user_id}/events.
func TestThePagesStreamEventsAreTheDocuments(t *testing.T) {
	node := nodeFor(t)
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	op := spec.Paths.Find("/users/{user_id}/events").Get
	var documented []string
	// The table's rows: | `held` | ... |, or | `cancelled`, `expired` | ... |.
	row := regexp.MustCompile("^\\|\\s*(`[a-z]+`(?:\\s*,\\s*`[a-z]+`)*)\\s*\\|")
	for line := range strings.Lines(op.Description) {
		if m := row.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			for name := range strings.SplitSeq(m[1], ",") {
				documented = append(documented, strings.Trim(strings.TrimSpace(name), "`"))
			}
		}
	}
	if len(documented) < 10 {
		t.Fatalf("found %q in the document's table of events: has its form changed?", documented)
	}

	cmd := exec.Command(node, "--input-type=module", "-e",
		`import { eventNames } from "./static/events.js"; console.log(JSON.stringify([...eventNames]));`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, exitStderr(err))
	}
	var page []string
	if err := json.Unmarshal(out, &page); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	slices.Sort(documented)
	slices.Sort(page)
	if !slices.Equal(page, documented) {
		t.Errorf("web/static/events.js reads the events %q; api/openapi.yaml documents %q", page, documented)
	}
}

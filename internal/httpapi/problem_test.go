package httpapi

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/flashsale/flashsale/generated"
)

// The document lists the problem types twice: in words, in the table at the
// top of its description, and as ProblemType's enum, which typed clients
// compile against. Both must name the same types, and each type's status
// in the table must be the one the server sends.
func TestProblemTypesAreTheDocumentsTable(t *testing.T) {
	spec, err := generated.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]int{}
	row := regexp.MustCompile("(?m)^\\| `(/problems/[a-z-]+)` \\| ([0-9]{3}) \\|")
	for _, m := range row.FindAllStringSubmatch(spec.Info.Description, -1) {
		status, _ := strconv.Atoi(m[2])
		table[m[1]] = status
	}
	var enum []string
	for _, v := range spec.Components.Schemas["ProblemType"].Value.Enum {
		enum = append(enum, v.(string))
	}
	rows := slices.Sorted(maps.Keys(table))
	slices.Sort(enum)
	if !slices.Equal(rows, enum) {
		t.Errorf("the description's table lists\n%v\nbut ProblemType's enum is\n%v", rows, enum)
	}

	kinds := []problemKind{
		probInvalid, probUnauthorized, probNotFound, probResNotFound, probNotWaiting, probMethod,
		probNotInitialized, probAlreadyReserved, probHoldExpired, probHoldCancelled, probAlreadyConfirmed,
		probInventory, probKeyInUse, probKeyMismatch, probTooLarge, probMediaType, probRateLimited,
		probTooManyStreams, probInternal, probUnavailable, probStreamsFull,
	}
	if len(kinds) != len(enum) {
		t.Errorf("%d problem kinds here, %d types in the document", len(kinds), len(enum))
	}
	for _, k := range kinds {
		if got, ok := table[string(k.Type)]; !ok || got != k.Status {
			t.Errorf("%s is sent with %d; the document's table says %d", k.Type, k.Status, got)
		}
	}
}

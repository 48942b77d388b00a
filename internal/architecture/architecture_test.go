package architecture_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/flashsale/flashsale/"

// floors is the plan: each package of the module and the floor it stands
// on. A package imports only packages on lower floors.
var floors = map[string]int{
	// The ground: the domain, the API document and what is generated from
	// it, the page, the SQL, and helpers of no one's.
	"internal/sale":      0,
	"api":                0,
	"generated":          0,
	"web":                0,
	"sql":                0,
	"internal/cli":       0,
	"internal/pgdsn":     0,
	"internal/clocktest": 0,
	"internal/membench":  0,
	"internal/serverbin": 0,
	// The rules and what follows the sale; the SQL part's queries; the
	// load tool, which knows the service only by its generated client.
	"internal/rules":   1,
	"internal/live":    1,
	"internal/shopper": 1,
	"internal/model":   1,
	"internal/drivers": 1,
	"internal/pgtest":  1,
	"internal/load":    1,
	// The store engine; webhook delivery, which follows it; the
	// conformance suite; two commands.
	"internal/store":            2,
	"internal/webhook":          2,
	"internal/sale/conformance": 2,
	"cmd/flashsale-load":        2,
	"cmd/reliable-drivers":      2,
	// The backends and the HTTP layer.
	"internal/store/memory":      3,
	"internal/store/sqlite":      3,
	"internal/store/postgres":    3,
	"internal/store/journaltest": 3,
	"internal/store/storebench":  3,
	"internal/httpapi":           3,
	// What wires it all: the server, and the test kit.
	"cmd/flashsale":    4,
	"internal/testkit": 4,
	// This test.
	"internal/architecture": 0,
}

// testSupport are the packages that exist for tests: nothing the service
// runs may import them.
var testSupport = []string{
	"internal/clocktest", "internal/membench", "internal/model", "internal/pgtest", "internal/serverbin",
	"internal/sale/conformance", "internal/store/journaltest", "internal/store/storebench",
	"internal/testkit",
}

// The load tool's own packages, what of the module they may import (the
// API, and cli, every command's exit convention, which holds nothing of
// the service), and what their tests may import besides: serverbin, which
// builds the server with nothing of the service in it.
var (
	loadTool      = []string{"internal/load", "cmd/flashsale-load"}
	loadToolAPI   = []string{"generated", "api", "internal/load", "internal/cli"}
	loadToolTests = []string{"internal/serverbin"}
)

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Standard     bool
}

// packages lists the module's packages, by their path in the module.
func packages(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	pkgs := map[string]pkg{}
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

// own is the module's packages among imports, by their path in the module.
func own(imports []string) []string {
	var out []string
	for _, imp := range imports {
		if rest, ok := strings.CutPrefix(imp, module); ok {
			out = append(out, rest)
		}
	}
	return out
}

func TestEveryPackageHasAFloorAndEveryImportGoesDown(t *testing.T) {
	pkgs := packages(t)
	for path, p := range pkgs {
		floor, ok := floors[path]
		if !ok {
			t.Errorf("%s has no floor: give it one in floors", path)
			continue
		}
		for _, dep := range own(p.Imports) {
			if floors[dep] >= floor {
				t.Errorf("%s (floor %d) imports %s (floor %d): an import must go down", path, floor, dep, floors[dep])
			}
		}
	}
	for path := range floors {
		if _, ok := pkgs[path]; !ok {
			t.Errorf("floors names %s, which is no package of the module", path)
		}
	}
}

func TestTheDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	p := packages(t)["internal/sale"]
	if len(p.Imports) == 0 {
		t.Fatal("internal/sale imports nothing: is it still there?")
	}
	for _, imp := range p.Imports {
		if strings.Contains(strings.Split(imp, "/")[0], ".") {
			t.Errorf("internal/sale imports %s: the domain is on the standard library alone", imp)
		}
	}
}

// The load tool could move to a module of its own without a line of the
// service changing: it reaches the service through its API only, the
// document and the client generated from it.
func TestTheLoadToolStandsBesideTheService(t *testing.T) {
	pkgs := packages(t)
	for _, path := range loadTool {
		p := pkgs[path]
		for _, dep := range own(p.Imports) {
			if !slices.Contains(loadToolAPI, dep) {
				t.Errorf("%s imports %s: the load tool may use the service only through %v", path, dep, loadToolAPI)
			}
		}
		for _, dep := range own(slices.Concat(p.TestImports, p.XTestImports)) {
			if !slices.Contains(loadToolAPI, dep) && !slices.Contains(loadToolTests, dep) {
				t.Errorf("%s's tests import %s: they may use %v and %v", path, dep, loadToolAPI, loadToolTests)
			}
		}
	}
}

func TestTestSupportStaysOutOfTheService(t *testing.T) {
	for path, p := range packages(t) {
		if slices.Contains(testSupport, path) {
			continue
		}
		for _, dep := range own(p.Imports) {
			if slices.Contains(testSupport, dep) {
				t.Errorf("%s imports %s, which is for tests only", path, dep)
			}
		}
	}
}

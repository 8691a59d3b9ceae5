package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestExampleLoads(t *testing.T) {
	c, _, err := loadYAML(t, Example(), nil)
	if err != nil {
		t.Fatalf("example.yaml does not load:\n%v", err)
	}
	// The example should show a working directory, not an empty one.
	if len(c.People) < 2 || len(c.Rooms.Slack) == 0 || len(c.Rooms.Matrix) == 0 {
		t.Errorf("example lost its people or rooms: %+v", c)
	}
}

func TestExampleIsEmbedded(t *testing.T) {
	disk, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(disk) != Example() {
		t.Error("Example() differs from example.yaml")
	}
}

// TestExampleDocumentsEveryKey fails when a key is added to Config without
// being shown (set or commented out) in example.yaml.
func TestExampleDocumentsEveryKey(t *testing.T) {
	var keys []string
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for _, f := range fieldsOf(typ) {
			keys = append(keys, f.name)
			if f.secret {
				keys = append(keys, f.name+fileSuffix)
			}
			ft := typ.Field(f.index).Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(unmarshalerType) {
				walk(ft)
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	for _, k := range keys {
		// "key:" at a line start (after indentation, "# " or "- "), or
		// inside a flow mapping.
		re := regexp.MustCompile(`(?m)(^[\s#-]*|[{,]\s*)` + regexp.QuoteMeta(k) + `:`)
		if !re.MatchString(Example()) {
			t.Errorf("example.yaml does not show key %q", k)
		}
	}
	if len(keys) < 25 {
		t.Errorf("found only %d keys; the walk is broken", len(keys))
	}
	if !strings.Contains(Example(), "url_file:") {
		t.Error("example.yaml should show the _file form of a secret")
	}
}

func TestSummary(t *testing.T) {
	c := Default()
	c.Data = "/srv/vigil"
	c.HTTP.Listen = ":8080"
	c.Rooms.Slack = []string{"C1"}
	c.People = []Person{{Name: "a"}, {Name: "b"}}
	want := `store=embedded(/srv/vigil) http=:8080 log=info/auto rooms=slack:1,matrix:0 people=2`
	if got := c.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	c.Redis.URL = NewSecret("unix://:pw@/run/redis.sock")
	c.HTTP.Listen = ""
	want = `store=redis(unix:///run/redis.sock prefix="vigil") http=off log=info/auto rooms=slack:1,matrix:0 people=2`
	if got := c.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

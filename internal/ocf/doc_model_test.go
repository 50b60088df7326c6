package ocf

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	md := richAgent().Doc().Markdown()
	for _, want := range []string{
		"# sample-guest 0.9.1\n\nManages a sample KVM guest\n",
		"| `config` | string | - | yes | Domain XML path |",
		"| `migration_speed` | integer | `0` | no | Migration bandwidth (MiB/s) |",
		`| What to do \| when it fails |`,
		"### on_fail\n\nPolicy.\nAllowed values: restart, ignore.\n",
		"*must be unique across resources.*",
		"*secret: never logged.*",
		"| monitor | 45s | 60s | 10 | - |",
		"| monitor | 30s | 9s | 0 | Promoted |",
		"| start | 90s | - | - | - |",
		"| meta-data | 5s | - | - | - |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "reload-agent") {
		t.Error("docs should list what meta-data advertises")
	}
}

func TestMarkdownWithoutParams(t *testing.T) {
	a := minimalAgent()
	a.Params = nil
	if md := a.Doc().Markdown(); !strings.Contains(md, "This agent takes no parameters.") {
		t.Errorf("got:\n%s", md)
	}
}

func TestDocMatchesMetaData(t *testing.T) {
	a := richAgent()
	doc := a.Doc()
	if len(doc.Params) != len(a.Params) || doc.Name != a.Name {
		t.Fatal("doc model lost data")
	}
	meta := a.MetaData()
	for _, act := range doc.Actions {
		if !strings.Contains(meta, `name="`+act.Name+`" timeout="`+formatOCFDuration(act.Timeout)+`"`) {
			t.Errorf("action %s/%v missing from meta-data", act.Name, act.Timeout)
		}
	}
}

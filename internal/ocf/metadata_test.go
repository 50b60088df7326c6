package ocf

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata golden files")

const (
	raAPIDTD     = "/usr/share/resource-agents/ra-api-1.dtd"
	pcsOCF11RNG  = "/usr/share/pcs/data/ocf-1.1.rng"
	raMetadataRN = "/usr/share/resource-agents/metadata.rng"
	goldenRich   = "testdata/sample-guest.metadata.xml"
)

func TestMetaDataGolden(t *testing.T) {
	got := richAgent().MetaData()
	if *updateGolden {
		if err := os.WriteFile(goldenRich, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenRich)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMetaDataGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("meta-data differs from %s (rerun with -update if intended):\n%s", goldenRich, got)
	}
}

func TestMetaDataIsStable(t *testing.T) {
	if a, b := richAgent().MetaData(), richAgent().MetaData(); a != b {
		t.Fatal("two renderings of the same agent differ")
	}
}

// xmllint runs the real validator. The schemas are the ones Pacemaker tools
// use on the target systems, so skipping would hide exactly the bugs this
// test exists for: fail loudly instead.
func xmllint(t *testing.T, dir, stdin string, args ...string) {
	t.Helper()
	if out, err := runXmllint(t, dir, stdin, args...); err != nil {
		t.Errorf("xmllint %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func runXmllint(t *testing.T, dir, stdin string, args ...string) ([]byte, error) {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (%v): install libxml2-utils; `make test` does this on CI", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	return cmd.CombinedOutput()
}

// TestSchemasRejectWhatWeAvoid pins down the schema differences MetaData
// works around, and proves the validation above can fail at all.
func TestSchemasRejectWhatWeAvoid(t *testing.T) {
	requireFile(t, raAPIDTD)
	requireFile(t, pcsOCF11RNG)
	good := minimalAgent().MetaData()
	for name, c := range map[string]struct{ old, new string }{
		"reload-agent action": {`<action name="meta-data"`, `<action name="reload-agent" timeout="20s"/><action name="meta-data"`},
		"reloadable attr":     {`name="count" required="0"`, `name="count" reloadable="1" required="0"`},
		"unique-group attr":   {`name="count" required="0"`, `name="count" unique-group="g" required="0"`},
		"select content":      {`type="integer"`, `type="select"`},
		"action w/o timeout":  {`<action name="meta-data" timeout="5s"/>`, `<action name="meta-data"/>`},
	} {
		bad := strings.Replace(good, c.old, c.new, 1)
		if bad == good {
			t.Fatalf("%s: substitution did not apply", name)
		}
		if _, err := runXmllint(t, "", bad, "--noout", "--dtdvalid", raAPIDTD, "-"); err == nil {
			t.Errorf("%s: ra-api-1.dtd unexpectedly accepts it; MetaData could emit it", name)
		}
		if out, err := runXmllint(t, "", bad, "--noout", "--relaxng", pcsOCF11RNG, "-"); err != nil {
			t.Errorf("%s: pcs schema rejects it too (%v): %s", name, err, out)
		}
	}
}

func requireFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("schema %s missing (%v): install resource-agents and pcs", path, err)
	}
}

func TestMetaDataValidatesAgainstSchemas(t *testing.T) {
	for _, schema := range []string{raAPIDTD, pcsOCF11RNG, raMetadataRN} {
		requireFile(t, schema)
	}
	agents := map[string]*Agent{"rich": richAgent(), "minimal": minimalAgent()}
	for name, a := range agents {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "meta.xml")
			if err := os.WriteFile(file, []byte(a.MetaData()), 0o644); err != nil {
				t.Fatal(err)
			}
			xmllint(t, "", "", "--noout", "--dtdvalid", raAPIDTD, file)
			xmllint(t, "", "", "--noout", "--relaxng", pcsOCF11RNG, file)
			xmllint(t, "", "", "--noout", "--relaxng", raMetadataRN, file)
			// Exactly what ocf-tester runs: meta-data on stdin, so the
			// DOCTYPE's relative system id resolves from its directory.
			xmllint(t, filepath.Dir(raAPIDTD), a.MetaData(), "--noout", "--valid", "-")
		})
	}
}

func TestMetaDataStructure(t *testing.T) {
	out := richAgent().MetaData()
	if !strings.HasPrefix(out, "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n") {
		t.Fatalf("unexpected prologue:\n%s", out[:min(len(out), 120)])
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(out); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if root.Tag != "resource-agent" || root.SelectAttrValue("name", "") != "sample-guest" ||
		root.SelectAttrValue("version", "") != "0.9.1" {
		t.Fatalf("root element wrong: %+v", root)
	}
	if v := root.FindElement("version"); v == nil || v.Text() != "1.1" {
		t.Fatal("missing <version>1.1</version>")
	}
	if got := root.FindElement("longdesc").Text(); !strings.Contains(got, `<disk> & "quotes"`) {
		t.Errorf("longdesc did not round-trip: %q", got)
	}

	params := root.FindElements("parameters/parameter")
	if len(params) != 5 {
		t.Fatalf("want 5 parameters, got %d", len(params))
	}
	config := root.FindElement("parameters/parameter[@name='config']")
	if config.SelectAttrValue("required", "") != "1" || config.SelectAttrValue("unique", "") != "1" {
		t.Error("config should be required and unique")
	}
	if c := config.FindElement("content"); c.SelectAttrValue("type", "") != "string" || c.SelectAttr("default") != nil {
		t.Error("config content wrong")
	}
	speed := root.FindElement("parameters/parameter[@name='migration_speed']/content")
	if speed.SelectAttrValue("type", "") != "integer" || speed.SelectAttrValue("default", "") != "0" {
		t.Error("migration_speed content wrong")
	}
	onFail := root.FindElement("parameters/parameter[@name='on_fail']/longdesc")
	if !strings.Contains(onFail.Text(), "Allowed values: restart, ignore.") {
		t.Errorf("choices not documented: %q", onFail.Text())
	}
	for _, forbidden := range []string{"reloadable", "unique-group", "deprecated", "select", "reload-agent"} {
		if strings.Contains(out, forbidden) {
			t.Errorf("meta-data contains %q, which ra-api-1.dtd rejects", forbidden)
		}
	}

	var actions []string
	for _, el := range root.FindElements("actions/action") {
		desc := el.SelectAttrValue("name", "") + "/" + el.SelectAttrValue("timeout", "")
		if el.SelectAttr("interval") != nil {
			desc += "/" + el.SelectAttrValue("interval", "") + "/" + el.SelectAttrValue("depth", "")
		}
		if role := el.SelectAttrValue("role", ""); role != "" {
			desc += "/" + role
		}
		actions = append(actions, desc)
	}
	want := []string{"start/90s", "stop/120s", "monitor/30s/10s/0", "monitor/45s/60s/10",
		"monitor/30s/9s/0/Promoted", "promote/20s", "demote/20s", "notify/20s",
		"migrate_to/300s", "migrate_from/20s", "reload/20s", "validate-all/20s", "meta-data/5s"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("actions:\n got %v\nwant %v", actions, want)
	}
}

func TestMetaDataMinimalAdvertisesOnlyImplemented(t *testing.T) {
	out := minimalAgent().MetaData()
	for _, absent := range []string{`"promote"`, `"demote"`, `"notify"`, `"migrate_to"`, `"reload"`, `"status"`} {
		if strings.Contains(out, absent) {
			t.Errorf("minimal agent advertises %s", absent)
		}
	}
	if !strings.Contains(out, `<action name="monitor" timeout="20s" interval="10s" depth="0"/>`) {
		t.Errorf("default monitor missing:\n%s", out)
	}
}

func TestMetaDataViaMainIgnoresBrokenEnvironment(t *testing.T) {
	env := []string{"OCF_RESKEY_count=not-a-number", "OCF_RESKEY_CRM_meta_timeout=garbage", "=", "junk"}
	r := invoke(minimalAgent(), newTestWorld(), ActionMetaData, env...)
	if r.code != 0 || r.stdout != minimalAgent().MetaData() {
		t.Fatalf("meta-data: code %d stdout %q", r.code, r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("meta-data wrote to stderr: %q", r.stderr)
	}
}

func TestMetaDataWriteFailure(t *testing.T) {
	var stderr bytes.Buffer
	code := minimalAgent().main([]string{"x", ActionMetaData}, nil, failingWriter{}, &stderr, newTestWorld().system())
	if code != int(ErrGeneric) || !strings.Contains(stderr.String(), exitReasonPrefix+"cannot write meta-data") {
		t.Fatalf("code %d stderr %q", code, stderr.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestFormatOCFDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		20 * time.Second:        "20s",
		0:                       "0s",
		1500 * time.Millisecond: "1500ms",
		time.Millisecond / 2:    "1ms",
		2 * time.Minute:         "120s",
	} {
		if got := formatOCFDuration(d); got != want {
			t.Errorf("formatOCFDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

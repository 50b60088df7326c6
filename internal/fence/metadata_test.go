package fence

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

const metadataSchema = "/usr/share/cluster/relaxng/metadata.rng"

// xmllint validates doc against the fence-agents schema. A missing xmllint or
// schema fails the test: the check must not silently disappear.
func xmllint(t *testing.T, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (install libxml2-utils): %v", err)
	}
	if _, err := os.Stat(metadataSchema); err != nil {
		t.Fatalf("fence meta-data schema missing (install fence-agents): %v", err)
	}
	f := filepath.Join(t.TempDir(), "metadata.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--relaxng", metadataSchema, f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint rejects the meta-data: %v\n%s\n%s", err, out, doc)
	}
}

func metadataOf(t *testing.T, a *Agent) ([]byte, *etree.Element) {
	t.Helper()
	r := runStdin(t, a, "action=metadata")
	if r.code != 0 {
		t.Fatalf("metadata exit %d: %s", r.code, r.stderr)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(r.stdout); err != nil {
		t.Fatal(err)
	}
	return []byte(r.stdout), doc.Root()
}

func TestMetadataValidatesAgainstSchema(t *testing.T) {
	variants := map[string]func(a *Agent){
		"rich":      func(*Agent) {},
		"unfencing": func(a *Agent) { a.Unfencing = true },
		"noplug":    func(a *Agent) { a.NoPlug = true; a.List = nil },
		"minimal": func(a *Agent) {
			*a = Agent{Name: "fence_min", ShortDesc: "x", Off: func(context.Context, *Request) error { return nil }}
		},
	}
	for name, mutate := range variants {
		t.Run(name, func(t *testing.T) {
			a := richAgent(newFakeDevice())
			mutate(a)
			out, _ := metadataOf(t, a)
			xmllint(t, out)
		})
	}
}

func TestMetadataContent(t *testing.T) {
	out, root := metadataOf(t, richAgent(newFakeDevice()))
	if !bytes.HasPrefix(out, []byte("<?xml version=\"1.0\" ?>\n<resource-agent name=\"fence_test\" shortdesc=\"Fence agent for tests &amp; &lt;checks&gt;\">")) {
		t.Errorf("header:\n%s", out[:200])
	}
	if root.SelectElement("longdesc").Text() != "fence_test drives an in-memory switch.\nIt exists for the \"unit tests\"." {
		t.Errorf("longdesc %q", root.SelectElement("longdesc").Text())
	}
	params := map[string]*etree.Element{}
	var order []string
	for _, p := range root.FindElements("parameters/parameter") {
		params[p.SelectAttrValue("name", "")] = p
		order = append(order, p.SelectAttrValue("name", ""))
	}
	if strings.Join(order, " ") != "action plug port ip ipaddr ipport username login password passwd ssl method login_timeout quiet verbose debug_file debug version help separator delay power_timeout power_wait stonith_status_sleep" {
		t.Errorf("parameter order: %s", strings.Join(order, " "))
	}
	check := func(name, attr, want string, path string) {
		t.Helper()
		e := params[name]
		if path != "" {
			e = e.FindElement(path)
		}
		if got := e.SelectAttrValue(attr, "<none>"); got != want {
			t.Errorf("%s %s/@%s = %q, want %q", name, path, attr, got, want)
		}
	}
	check("action", "mixed", "-o, --action=[action]", "getopt")
	check("action", "default", "reboot", "content")
	check("plug", "required", "1", "")
	check("plug", "obsoletes", "port", "")
	check("port", "deprecated", "1", "")
	check("port", "mixed", "-n, --plug=[id]", "getopt")
	check("ip", "required", "1", "")
	check("ip", "mixed", "-a, --ip=[ip]", "getopt")
	// Older names stand beside the option as fence-agents lists them, so
	// pcs takes a device configured for fence_virsh (ipaddr=, login=).
	check("ip", "obsoletes", "ipaddr", "")
	check("ipaddr", "deprecated", "1", "")
	check("ipaddr", "required", "1", "")
	check("ipaddr", "mixed", "-a, --ip=[ip]", "getopt")
	check("login", "deprecated", "1", "")
	check("ipport", "type", "integer", "content")
	check("ipport", "default", "623", "content")
	check("ssl", "mixed", "-z, --ssl", "getopt")
	check("ssl", "type", "boolean", "content")
	check("method", "type", "select", "content")
	check("login_timeout", "type", "second", "content")
	check("login_timeout", "mixed", "--login-timeout=[seconds]", "getopt")
	check("power_timeout", "default", "20", "content")
	check("debug_file", "mixed", "-D, --debug-file=[debugfile]", "getopt")
	check("debug_file", "obsoletes", "debug", "")
	check("debug", "deprecated", "1", "")
	check("debug", "mixed", "-D, --debug-file=[debugfile]", "getopt")
	if n := len(params["method"].FindElements("content/option")); n != 2 {
		t.Errorf("method options: %d", n)
	}
	for name, p := range params {
		if p.FindElement("shortdesc[@lang='en']") == nil || p.SelectElement("getopt") == nil || p.SelectElement("content") == nil {
			t.Errorf("parameter %s incomplete", name)
		}
	}
	var acts []string
	for _, a := range root.FindElements("actions/action") {
		acts = append(acts, a.SelectAttrValue("name", ""))
	}
	if strings.Join(acts, " ") != "on off reboot status list list-status monitor metadata manpage validate-all" {
		t.Errorf("actions: %v", acts)
	}
	on := root.FindElement("actions/action[@name='on']")
	if on.SelectAttrValue("automatic", "") != "0" || on.SelectAttr("on_target") != nil {
		t.Errorf("on action attributes wrong")
	}
	for _, s := range []string{`name="nodename"`, `name="pcmk_`, `name="stonith"`} {
		if strings.Contains(string(out), s) {
			t.Errorf("meta-data must not contain %s", s)
		}
	}
}

func TestMetadataUnfencingAndNoPlug(t *testing.T) {
	a := richAgent(newFakeDevice())
	a.Unfencing = true
	_, root := metadataOf(t, a)
	on := root.FindElement("actions/action[@name='on']")
	if on.SelectAttrValue("on_target", "") != "1" || on.SelectAttrValue("automatic", "") != "1" {
		t.Error("unfencing on must be on_target=1 automatic=1")
	}
	if root.FindElement("actions/action[@name='reboot']") != nil {
		t.Error("unfencing agents have no reboot")
	}
	if root.FindElement("parameters/parameter[@name='action']/content").SelectAttrValue("default", "") != "off" {
		t.Error("unfencing default action must be off")
	}
	a = richAgent(newFakeDevice())
	a.NoPlug, a.Status = true, nil
	_, root = metadataOf(t, a)
	if root.FindElement("parameters/parameter[@name='plug']") != nil || root.FindElement("parameters/parameter[@name='port']") != nil {
		t.Error("NoPlug agents must not advertise plug/port")
	}
	if root.FindElement("actions/action[@name='status']") != nil {
		t.Error("status advertised without Status func")
	}
}

func TestMetadataHostileText(t *testing.T) {
	a := richAgent(newFakeDevice())
	a.LongDesc = "bad \x00\x01 chars ]]> <x> & \"q\" 'a' \xff"
	a.Options[0].Description = "<param> & \x1b"
	a.Options[0].Default = "\"x\" <y>"
	out, _ := metadataOf(t, a)
	xmllint(t, out)
}

package capacity

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// xmlCases are inputs at the edges of what the fast parser takes; fast says whether it
// takes them (the others go to etree).
var xmlCases = []struct {
	name string
	xml  string
	fast bool
}{
	{"plain", `<cib a="1" b='2'><x/><y c="3"></y></cib>`, true},
	{"declaration", `<?xml version="1.0" encoding="UTF-8"?>` + "\n<cib/>", true},
	{"declaration in lower case", `<?xml version='1.0' encoding='utf-8' standalone='yes'?><cib/>`, true},
	{"version 1.1", `<?xml version="1.1"?><cib/>`, false},
	{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><cib/>`, false},
	{"processing instruction", `<?pi some data?><cib/><?pi?>`, true},
	{"comments", `<!-- a --><cib><!----><x/><!-- - --></cib>`, true},
	{"double hyphen in a comment", `<cib><!-- a -- b --></cib>`, false},
	{"cdata", `<cib><![CDATA[ <x/> & ]] > ]]></cib>`, true},
	{"entities", `<cib a="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;" b="x&#13;&#10;y"/>`, true},
	{"unknown entity", `<cib a="&nbsp;"/>`, false},
	{"entity without semicolon", `<cib a="&amp"/>`, false},
	{"character reference to a control character", `<cib a="&#1;"/>`, false},
	{"character reference to a surrogate", `<cib a="&#xD800;"/>`, false},
	{"upper-case X in a reference", `<cib a="&#X41;"/>`, false},
	{"line ends in values", "<cib a=\"x\r\ny\rz\r\r\n\"/>", true},
	{"line ends in text", "<cib>\r\n<x/>\r</cib>\r\n", true},
	{"repeated attribute", `<cib id="a" x="1" id="b"/>`, true},
	{"attributes without space", `<cib a="1"b="2"/>`, true},
	{"spaces around =", "<cib a \t=\n '1' />", true},
	{"end tag with space", `<cib></cib  >`, true},
	{"unicode in values and text", `<cib a="ünïcödé ✓">é</cib>`, true},
	{"byte order mark", "\uFEFF<cib/>", true},
	{"unicode name", `<cib><é/></cib>`, false},
	{"namespace prefix", `<cib xmlns:p="u"><p:x p:a="1"/></cib>`, false},
	{"doctype", `<!DOCTYPE cib><cib/>`, false},
	{"text around the root", `text <cib/> more <x/>`, true},
	{"no element", `<!-- nothing -->`, true},
	{"empty", ``, true},
	{"mismatched end tag", `<cib></x>`, false},
	{"unclosed", `<cib><x>`, false},
	{"end tag first", `</cib>`, false},
	{"less-than in a value", `<cib a="<"/>`, false},
	{"]]> in text", `<cib>]]></cib>`, false},
	{"unquoted value", `<cib a=1/>`, false},
	{"attribute without value", `<cib a/>`, false},
	{"invalid UTF-8", "<cib a=\"\xff\"/>", false},
	{"control character", "<cib a=\"\x01\"/>", false},
	{"U+FFFE", "<cib a=\"\uFFFE\"/>", false},
	{"name starting with a digit", `<cib><1x/></cib>`, false},
	{"space after <", `< cib/>`, false},
	{"slash not closing", `<cib / >`, false},
}

// TestXMLTree: the fast parser takes what it should, and reads it as etree does.
func TestXMLTree(t *testing.T) {
	for _, c := range xmlCases {
		t.Run(c.name, func(t *testing.T) {
			_, ok := parseFast([]byte(c.xml))
			if ok != c.fast {
				t.Errorf("fast parser ok=%v, want %v", ok, c.fast)
			}
			checkSameTree(t, []byte(c.xml))
		})
	}
}

// TestXMLTreeValues: values come decoded, repeated attributes keep the last value, as
// with etree, and a copied etree tree answers the same.
func TestXMLTreeValues(t *testing.T) {
	data := []byte("<cib a=\"&lt;x&gt; &#65;&#x42; \r\n\" id=\"1\" b=\"\" id=\"2\"><n/><m/><n/></cib>")
	root, ok := parseFast(data)
	if !ok {
		t.Fatal("not taken")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*xnode{root, fromEtree(doc.Root())} {
		if got := n.attr("a", "?"); got != "<x> AB \n" {
			t.Errorf("a=%q", got)
		}
		if got := n.attr("id", "?"); got != "2" {
			t.Errorf("id=%q", got)
		}
		if v, ok := n.attrBytes("b"); !ok || len(v) != 0 {
			t.Errorf("b=%q %v", v, ok)
		}
		if n.hasAttr("c") || n.attr("c", "none") != "none" {
			t.Error("c is there")
		}
		count := 0
		for range n.elements("n") {
			count++
		}
		if count != 2 || n.element("m") == nil || n.element("x") != nil || !n.is("cib") {
			t.Errorf("children: %d n", count)
		}
	}
}

// FuzzXMLTree: whatever the fast parser takes, etree takes too, and both read the same
// elements, names, attributes and values in the same order.
func FuzzXMLTree(f *testing.F) {
	for _, c := range xmlCases {
		f.Add([]byte(c.xml))
	}
	for _, name := range []string{"testdata/three-nodes.xml", "testdata/three-nodes.crm_mon.xml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(checkSameTree)
}

// checkSameTree fails when the fast parser takes data and reads it otherwise than etree.
func checkSameTree(t *testing.T, data []byte) {
	root, ok := parseFast(data)
	if !ok {
		return
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatalf("the fast parser takes what etree refuses (%v):\n%q", err, data)
	}
	if want := doc.Root(); (root == nil) != (want == nil) {
		t.Fatalf("root: fast %v, etree %v", root != nil, want != nil)
	} else if want != nil {
		if diff := treeDiff(root, fromEtree(want), "/"); diff != "" {
			t.Fatalf("%s\n%q", diff, data)
		}
	}
}

// treeDiff describes the first difference between a fast tree and a copied etree one.
func treeDiff(got, want *xnode, path string) string {
	path += want.fullTag()
	if got.fullTag() != want.fullTag() {
		return path + ": named " + got.fullTag()
	}
	var gotAttrs []string
	seen := map[string]int{}
	for name, raw := range got.rawAttrs() { // etree's way: the first place, the last value
		kv := string(name) + "=" + string(decodeValue(raw))
		if i, dup := seen[string(name)]; dup {
			gotAttrs[i] = kv
		} else {
			seen[string(name)] = len(gotAttrs)
			gotAttrs = append(gotAttrs, kv)
		}
	}
	var wantAttrs []string
	for _, a := range want.ext.attrs {
		wantAttrs = append(wantAttrs, a.Key+"="+a.Value)
		if v := got.attr(a.Key, "?"); v != a.Value {
			return path + ": attribute " + a.Key + " reads " + v + ", not " + a.Value
		}
	}
	if g, w := strings.Join(gotAttrs, "\x00"), strings.Join(wantAttrs, "\x00"); g != w {
		return path + ": attributes " + g + ", not " + w
	}
	var gotKids, wantKids []*xnode
	for c := range got.children() {
		gotKids = append(gotKids, c)
	}
	for c := range want.children() {
		wantKids = append(wantKids, c)
	}
	if len(gotKids) != len(wantKids) {
		return path + ": children differ"
	}
	for i := range gotKids {
		if d := treeDiff(gotKids[i], wantKids[i], path+"/"); d != "" {
			return d
		}
	}
	if !bytes.Equal(got.tag(), want.tag()) {
		return path + ": tag"
	}
	return ""
}

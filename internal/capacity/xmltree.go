package capacity

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// The CIB is read into a tree of its own rather than etree's. A CIB is nearly all
// operation history: 32 nodes and 2,000 guests make 57 MB, an element every 300 bytes
// with 15 to 20 attributes each. etree, through encoding/xml, took about 2 s of CPU and
// allocated 700 MB to read it (a string for every name and value, an element and an
// attribute slice each), and kvmha capacity peaked at 490 MB. This tree keeps the input
// and, per element, offsets into it: its name, its attribute text (read again when an
// attribute is asked for, which is rare: the reader looks at a few attributes of each
// element) and its first child and next sibling. Reading that CIB now takes a tenth of
// the CPU time and allocates 20 MB (BenchmarkCapacity32x2000).
//
// The fast parser accepts only what it can check completely: the XML Pacemaker and any
// ordinary tool writes (elements, attributes with the five predefined entities and
// character references, comments, CDATA, processing instructions). Anything else -
// a document type declaration, namespace prefixes, names beyond ASCII, a version other
// than 1.0, any error - sends the whole input to etree as before, whose tree is then
// copied into this form: malformed input gets the same errors, and every document gets
// the same reading (FuzzXMLTree compares both parsers on what the fast one accepts).

// xdoc is a parsed document.
type xdoc struct {
	src   []byte  // the input, which the caller must not change while the tree is used
	nodes []xnode // every element, in document order
}

// xnode is an element.
type xnode struct {
	doc            *xdoc
	tagLo, tagHi   int32 // its name in src
	attrLo, attrHi int32 // the text of its attributes in src (between the name and > or />)
	first, next    int32 // first child and next sibling in doc.nodes; -1: none
	ext            *xext // for a tree copied from etree: what src does not hold
}

// xext is an element copied from etree: its name and attributes as etree read them.
type xext struct {
	space, tag string
	attrs      []etree.Attr // without duplicates: etree keeps the last value of a name
}

// xmlMaxDepth is below etree's limit (1024), which thus still decides at the edge.
const xmlMaxDepth = 1000

// parseXMLTree parses data and returns its root element; roots names the root elements
// accepted. Errors are what readXML returns.
func parseXMLTree(data []byte, roots ...string) (*xnode, error) {
	if len(data) > MaxCIBSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxCIBSize)
	}
	if root, ok := parseFast(data); ok {
		if root == nil {
			return nil, errors.New("no XML element")
		}
		for _, want := range roots {
			if root.is(want) {
				return root, nil
			}
		}
		return nil, fmt.Errorf("the root element is <%s>, not <%s>", root.fullTag(), joinTags(roots))
	}
	root, err := readXML(data, roots...)
	if err != nil {
		return nil, err
	}
	return fromEtree(root), nil
}

// parseFast parses src if it is XML the fast parser fully checks; ok is false for
// anything else. root is nil when the document has no element.
func parseFast(src []byte) (root *xnode, ok bool) {
	if len(src) >= math.MaxInt32 {
		return nil, false
	}
	p := &xparser{src: src, doc: &xdoc{src: src, nodes: make([]xnode, 0, len(src)/256+16)}, top: -1}
	for p.pos < len(src) {
		if src[p.pos] != '<' {
			end := bytes.IndexByte(src[p.pos:], '<')
			if end < 0 {
				end = len(src)
			} else {
				end += p.pos
			}
			text := src[p.pos:end]
			if bytes.Contains(text, []byte("]]>")) || !validChars(text, false) {
				return nil, false
			}
			p.pos = end
			continue
		}
		if !p.markup() {
			return nil, false
		}
	}
	if len(p.open) > 0 {
		return nil, false
	}
	d := p.doc
	for i := range d.nodes {
		d.nodes[i].doc = d
	}
	if len(d.nodes) == 0 {
		return nil, true
	}
	return &d.nodes[0], true // the first element is the first top-level one
}

type xparser struct {
	src  []byte
	pos  int
	doc  *xdoc
	open []int32 // the open elements, innermost last
	last []int32 // the last child so far of each open element (-1: none)
	top  int32   // the last top-level element so far (-1: none)
}

// markup reads what starts with the < at p.pos.
func (p *xparser) markup() bool {
	src, i := p.src, p.pos+1
	if i >= len(src) {
		return false
	}
	switch src[i] {
	case '/':
		lo := i + 1
		hi := scanName(src, lo)
		if hi == lo || len(p.open) == 0 {
			return false
		}
		i = skipSpace(src, hi)
		n := &p.doc.nodes[p.open[len(p.open)-1]]
		if i >= len(src) || src[i] != '>' || !bytes.Equal(src[n.tagLo:n.tagHi], src[lo:hi]) {
			return false
		}
		p.open, p.last = p.open[:len(p.open)-1], p.last[:len(p.last)-1]
		p.pos = i + 1
		return true
	case '?':
		lo := i + 1
		hi := scanName(src, lo)
		if hi == lo {
			return false
		}
		i = skipSpace(src, hi)
		end := bytes.Index(src[i:], []byte("?>"))
		if end < 0 || string(src[lo:hi]) == "xml" && !plainXMLDecl(string(src[i:i+end])) {
			return false
		}
		p.pos = i + end + 2
		return true
	case '!':
		switch {
		case bytes.HasPrefix(src[i:], []byte("!--")):
			i += 3
			end := bytes.Index(src[i:], []byte("--")) // the first -- must end the comment
			if end < 0 || i+end+2 >= len(src) || src[i+end+2] != '>' {
				return false
			}
			p.pos = i + end + 3
			return true
		case bytes.HasPrefix(src[i:], []byte("![CDATA[")):
			i += 8
			end := bytes.Index(src[i:], []byte("]]>"))
			if end < 0 || !validChars(src[i:i+end], true) {
				return false
			}
			p.pos = i + end + 3
			return true
		}
		return false // a document type declaration or another directive
	}
	return p.startTag(i)
}

// startTag reads the element whose name starts at i.
func (p *xparser) startTag(i int) bool {
	src := p.src
	lo := i
	i = scanName(src, lo)
	if i == lo || len(p.open) >= xmlMaxDepth {
		return false
	}
	tagHi, attrLo := i, i
	for {
		i = skipSpace(src, i)
		if i >= len(src) {
			return false
		}
		switch src[i] {
		case '/':
			if i+1 >= len(src) || src[i+1] != '>' {
				return false
			}
			p.add(lo, tagHi, attrLo, i, false)
			p.pos = i + 2
			return true
		case '>':
			p.add(lo, tagHi, attrLo, i, true)
			p.pos = i + 1
			return true
		}
		// Attributes need no space between them: encoding/xml does not ask for it either.
		nameLo := i
		i = scanName(src, i)
		if i == nameLo {
			return false
		}
		i = skipSpace(src, i)
		if i >= len(src) || src[i] != '=' {
			return false
		}
		i = skipSpace(src, i+1)
		if i >= len(src) || src[i] != '"' && src[i] != '\'' {
			return false
		}
		end := bytes.IndexByte(src[i+1:], src[i])
		if end < 0 || !validChars(src[i+1:i+1+end], false) {
			return false
		}
		i += end + 2
	}
}

// add appends an element and links it to its parent or its previous sibling.
func (p *xparser) add(tagLo, tagHi, attrLo, attrHi int, open bool) {
	d := p.doc
	idx := int32(len(d.nodes))
	d.nodes = append(d.nodes, xnode{tagLo: int32(tagLo), tagHi: int32(tagHi), attrLo: int32(attrLo), attrHi: int32(attrHi),
		first: -1, next: -1})
	if k := len(p.open) - 1; k >= 0 {
		if prev := p.last[k]; prev >= 0 {
			d.nodes[prev].next = idx
		} else {
			d.nodes[p.open[k]].first = idx
		}
		p.last[k] = idx
	} else {
		if p.top >= 0 {
			d.nodes[p.top].next = idx
		}
		p.top = idx
	}
	if open {
		p.open = append(p.open, idx)
		p.last = append(p.last, -1)
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(src []byte, i int) int {
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	return i
}

// scanName returns the end of the name at i (i when there is none). Only ASCII names
// without a colon: encoding/xml reads a prefix as a namespace, and the fast parser leaves
// both that and the Unicode name rules to it (a name that goes on with such a character
// returns i as well).
func scanName(src []byte, i int) int {
	lo := i
	if i >= len(src) || !('a' <= src[i] && src[i] <= 'z' || 'A' <= src[i] && src[i] <= 'Z' || src[i] == '_') {
		return lo
	}
	for i++; i < len(src); i++ {
		c := src[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.':
		case c == ':' || c >= utf8.RuneSelf:
			return lo
		default:
			return i
		}
	}
	return i
}

// validChars says whether encoding/xml in strict mode accepts b as text or as an
// attribute value (its quotes left out), or as the content of a CDATA section: valid
// UTF-8 of XML characters, and outside CDATA no < and no & but the five predefined
// entities and character references of XML characters.
func validChars(b []byte, cdata bool) bool {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c >= 0x20 && c < utf8.RuneSelf && (cdata || c != '<' && c != '&'), c == '\t', c == '\n', c == '\r':
			i++
		case c == '&':
			_, n := entity(b[i:])
			if n == 0 {
				return false
			}
			i += n
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 || !xmlChar(r) {
				return false
			}
			i += size
		default:
			return false
		}
	}
	return true
}

// entity reads the reference at the start of b (which starts with &): the character it
// stands for and its length, 0 if it is not one the fast parser accepts.
func entity(b []byte) (r rune, n int) {
	end := bytes.IndexByte(b, ';')
	if end < 2 {
		return 0, 0
	}
	name := string(b[1:end])
	switch name {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "apos":
		return '\'', end + 1
	case "quot":
		return '"', end + 1
	}
	digits, base := name[1:], 10
	if name[0] != '#' {
		return 0, 0
	}
	if len(digits) > 0 && digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	for i := 0; i < len(digits); i++ { // ParseUint also takes a sign or underscores
		c := digits[i]
		if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return 0, 0
		}
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil || v > utf8.MaxRune || !xmlChar(rune(v)) { // xmlChar excludes surrogates
		return 0, 0
	}
	return rune(v), end + 1
}

// xmlChar is XML's Char production, as encoding/xml checks it.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// plainXMLDecl says whether an XML declaration's content is one encoding/xml reads
// without a word: version absent or 1.0, encoding absent or UTF-8 (it would hand
// another to etree's pass-through charset reader).
func plainXMLDecl(content string) bool {
	ver, enc := declParam("version", content), declParam("encoding", content)
	return (ver == "" || ver == "1.0") && (enc == "" || strings.EqualFold(enc, "utf-8"))
}

// declParam finds a parameter of an XML declaration exactly as encoding/xml does
// (procInst): the first name= followed by a quote, anywhere.
func declParam(param, s string) string {
	param += "="
	i := 0
	var quote byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || len(param)+k >= len(sub) {
			return ""
		}
		i += len(param) + k + 1
		if c := sub[len(param)+k]; c == '\'' || c == '"' {
			quote = c
			break
		}
	}
	if quote == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], quote)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// fromEtree copies an etree element and its descendants into a tree of xnodes.
func fromEtree(root *etree.Element) *xnode {
	d := &xdoc{}
	var add func(e *etree.Element) int32
	add = func(e *etree.Element) int32 {
		idx := int32(len(d.nodes))
		d.nodes = append(d.nodes, xnode{first: -1, next: -1,
			ext: &xext{space: e.Space, tag: e.Tag, attrs: append([]etree.Attr(nil), e.Attr...)}})
		prev := int32(-1)
		for _, c := range e.ChildElements() {
			ci := add(c)
			if prev < 0 {
				d.nodes[idx].first = ci
			} else {
				d.nodes[prev].next = ci
			}
			prev = ci
		}
		return idx
	}
	add(root)
	for i := range d.nodes {
		d.nodes[i].doc = d
	}
	return &d.nodes[0]
}

// tag is the element's name (without a namespace prefix, as etree's Tag).
func (n *xnode) tag() []byte {
	if n.ext != nil {
		return []byte(n.ext.tag)
	}
	return n.doc.src[n.tagLo:n.tagHi]
}

// is says whether the element is named tag; a namespace prefix is not looked at, as
// etree's SelectElement does not for a tag without one.
func (n *xnode) is(tag string) bool {
	if n.ext != nil {
		return n.ext.tag == tag
	}
	return string(n.doc.src[n.tagLo:n.tagHi]) == tag
}

func (n *xnode) fullTag() string {
	if n.ext != nil && n.ext.space != "" {
		return n.ext.space + ":" + n.ext.tag
	}
	return string(n.tag())
}

// children iterates over the child elements.
func (n *xnode) children() iter.Seq[*xnode] {
	return func(yield func(*xnode) bool) {
		for c := n.first; c >= 0; c = n.doc.nodes[c].next {
			if !yield(&n.doc.nodes[c]) {
				return
			}
		}
	}
}

// elements iterates over the child elements named tag.
func (n *xnode) elements(tag string) iter.Seq[*xnode] {
	return func(yield func(*xnode) bool) {
		for c := n.first; c >= 0; c = n.doc.nodes[c].next {
			if e := &n.doc.nodes[c]; e.is(tag) && !yield(e) {
				return
			}
		}
	}
}

// element returns the first child element named tag, or nil; a nil n has none.
func (n *xnode) element(tag string) *xnode {
	if n == nil {
		return nil
	}
	for e := range n.elements(tag) {
		return e
	}
	return nil
}

// hasDescendant says whether an element below n is named tag.
func (n *xnode) hasDescendant(tag string) bool {
	for c := range n.children() {
		if c.is(tag) || c.hasDescendant(tag) {
			return true
		}
	}
	return false
}

// rawAttrs iterates over the attributes as written: names and undecoded values.
func (n *xnode) rawAttrs() iter.Seq2[[]byte, []byte] {
	return func(yield func(name, raw []byte) bool) {
		src, i, end := n.doc.src, int(n.attrLo), int(n.attrHi)
		for {
			i = skipSpace(src, i)
			if i >= end {
				return
			}
			nameLo := i
			i = scanName(src, i)
			name := src[nameLo:i]
			i = skipSpace(src, i)
			i = skipSpace(src, i+1) // =
			q := src[i]
			j := i + 1 + bytes.IndexByte(src[i+1:end], q)
			if !yield(name, src[i+1:j]) {
				return
			}
			i = j + 1
		}
	}
}

// attrs looks up several attributes at once, which reads the element's attributes once:
// vals[i] is the value of keys[i], nil when there is none. Values are decoded; they are
// the input's own bytes when they need no decoding, and must not be changed.
func (n *xnode) attrs(keys []string, vals [][]byte) {
	clear(vals)
	if n.ext != nil {
		for k, key := range keys {
			for _, a := range n.ext.attrs {
				if a.Key == key { // the first, as etree's SelectAttr
					vals[k] = append([]byte{}, a.Value...) // not nil when empty: nil says absent
					break
				}
			}
		}
		return
	}
	for name, raw := range n.rawAttrs() {
		for k, key := range keys {
			if string(name) == key {
				vals[k] = raw // the last: etree keeps the last value of a repeated name
			}
		}
	}
	for k, v := range vals {
		if v != nil {
			vals[k] = decodeValue(v)
		}
	}
}

// attrBytes is the decoded value of attribute key, as attrs gives it.
func (n *xnode) attrBytes(key string) (val []byte, ok bool) {
	var v [1][]byte
	n.attrs([]string{key}, v[:])
	return v[0], v[0] != nil
}

// attr is the value of attribute key, or dflt when there is none (etree's
// SelectAttrValue).
func (n *xnode) attr(key, dflt string) string {
	if v, ok := n.attrBytes(key); ok {
		return string(v)
	}
	return dflt
}

// hasAttr says whether the element has attribute key.
func (n *xnode) hasAttr(key string) bool {
	_, ok := n.attrBytes(key)
	return ok
}

// decodeValue replaces references and line ends as encoding/xml does: a reference by
// its character, \r\n and a lone \r by \n. A value needing neither is returned as is.
func decodeValue(raw []byte) []byte {
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		switch c := raw[i]; c {
		case '&':
			r, n := entity(raw[i:])
			out = utf8.AppendRune(out, r)
			i += n
		case '\r':
			out = append(out, '\n')
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

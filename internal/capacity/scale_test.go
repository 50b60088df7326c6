package capacity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"sync"
	"testing"

	"github.com/kvmha/kvmha/internal/capacity/cibgen"
)

// The 32-node, 2,000-guest CIB of issue 15 ("capacity at scale"), generated rather than
// checked in (57 MB). Generated once per test binary: both the test and the benchmark use it.
var (
	bigCIBOnce sync.Once
	bigCIB     []byte
)

func cib32x2000(tb testing.TB) []byte {
	tb.Helper()
	bigCIBOnce.Do(func() {
		var b bytes.Buffer
		if err := cibgen.Write(&b, cibgen.Spec{Nodes: 32, Guests: 2000, Seed: 1}); err != nil {
			tb.Fatal(err)
		}
		bigCIB = b.Bytes()
	})
	return bigCIB
}

// report32x2000 is what kvmha capacity prints for the CIB: the table and the JSON.
func report32x2000(tb testing.TB, data []byte) (table, js []byte) {
	c, err := ParseCIB(data)
	if err != nil {
		tb.Fatal(err)
	}
	rep := Plan(c)
	var t, j bytes.Buffer
	if err := rep.WriteTable(&t); err != nil {
		tb.Fatal(err)
	}
	enc := json.NewEncoder(&j)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		tb.Fatal(err)
	}
	return t.Bytes(), j.Bytes()
}

// What the 32x2000 CIB and kvmha capacity's report on it hash to. The report's hashes
// were taken with the reader as it was before its own XML tree replaced etree (commit
// edb9c5c): the tree must not change a byte of the answer.
const (
	cib32x2000SHA   = "23c47605703d9559797e0d1346f364b18322af697c27c23e54b7697ede7ed85c"
	table32x2000SHA = "8f4ab45810a0ad550db1b85b037a686ec94c3024182675bf6e183516982cb0f6"
	json32x2000SHA  = "04088222379084771a2a35990bf05e9226997e71ccc6d80c983ea466864d09a9"
)

// TestCapacity32x2000: the report on 32 nodes and 2,000 guests is the one the etree
// reader gave, in the table and in JSON.
func TestCapacity32x2000(t *testing.T) {
	data := cib32x2000(t)
	if got := sha(data); got != cib32x2000SHA {
		t.Fatalf("cibgen no longer writes the CIB the hashes were taken from (sha256 %s): "+
			"take the report's hashes again with the reader of commit edb9c5c", got)
	}
	table, js := report32x2000(t, data)
	if got := sha(table); got != table32x2000SHA {
		t.Errorf("the table changed: sha256 %s, %d bytes", got, len(table))
	}
	if got := sha(js); got != json32x2000SHA {
		t.Errorf("the JSON changed: sha256 %s, %d bytes", got, len(js))
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// BenchmarkCapacity32x2000 is kvmha capacity --cib on 32 nodes and 2,000 guests, less the
// file read: parse, plan, table.
func BenchmarkCapacity32x2000(b *testing.B) {
	data := cib32x2000(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := ParseCIB(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := Plan(c).WriteTable(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

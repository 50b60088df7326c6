// Command cibgen writes a synthetic CIB of a large cluster to stdout or -o FILE, for
// test/bench/capacity.sh (internal/capacity/cibgen says what it holds). The same flags
// give the same bytes.
//
//	cibgen [-nodes 32] [-guests 2000] [-seed 1] [-o FILE]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kvmha/kvmha/internal/capacity/cibgen"
)

func main() {
	nodes := flag.Int("nodes", 32, "cluster nodes (one is left offline, one in standby)")
	guests := flag.Int("guests", 2000, "ocf:kvmha:VirtualDomain guests")
	seed := flag.Uint64("seed", 1, "seed of the layout")
	out := flag.String("o", "-", "output file (- for stdout)")
	flag.Parse()
	if err := run(cibgen.Spec{Nodes: *nodes, Guests: *guests, Seed: *seed}, *out); err != nil {
		fmt.Fprintln(os.Stderr, "cibgen:", err)
		os.Exit(1)
	}
}

func run(s cibgen.Spec, out string) error {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
		if err := cibgen.Write(w, s); err != nil {
			return err
		}
		return f.Close() // a full disk shows here
	}
	return cibgen.Write(w, s)
}

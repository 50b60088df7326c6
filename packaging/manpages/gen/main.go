// Command gen writes kvmha's manual pages (package manpages) into a folder:
// `make manpages` runs it for packaging/man. Files of the folder that are no
// page any more are removed.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmha/kvmha/packaging/manpages"
)

func main() {
	dir := flag.String("o", "packaging/man", "output folder")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "manpages:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	pages, err := manpages.Pages()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, p := range pages {
		keep[p.File] = true
		if err := os.WriteFile(filepath.Join(dir, p.File), p.Source, 0o644); err != nil {
			return err
		}
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.[78]"))
	for _, f := range old {
		if !keep[filepath.Base(f)] && !strings.HasPrefix(filepath.Base(f), ".") {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	fmt.Printf("manpages: %d pages in %s\n", len(pages), dir)
	return nil
}

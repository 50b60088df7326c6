package ocf

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// writeUsage prints the classic "usage: agent {start|stop|...}" text.
func (a *Agent) writeUsage(w io.Writer, argv0 string) {
	prog := a.Name
	if argv0 != "" {
		prog = filepath.Base(argv0)
	}
	var names []string
	for _, spec := range actionSpecs {
		if spec.name != ActionStatus && a.implemented(spec) {
			names = append(names, spec.name)
		}
	}
	names = append(names, ActionMetaData, ActionUsage)
	_, _ = fmt.Fprintf(w, "usage: %s {%s}\n\n%s\n\n"+
		"Expects an OCF resource-agent environment (OCF_RESKEY_<parameter>=...).\n"+
		"Run \"%s meta-data\" for the parameters.\n",
		prog, strings.Join(names, "|"), a.ShortDesc, prog)
}

package agentlog

import "strings"

// JoinErrors puts errors on one line, for a one-line message: "; " between them and in
// place of the line breaks an error holds (errors.Join's). Nil errors are skipped.
func JoinErrors(errs ...error) string {
	var s []string
	for _, e := range errs {
		if e != nil {
			s = append(s, strings.ReplaceAll(e.Error(), "\n", "; "))
		}
	}
	return strings.Join(s, "; ")
}

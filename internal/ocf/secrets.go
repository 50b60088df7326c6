package ocf

import (
	"sort"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// minRedactedSecretLen is the shortest secret value scrubbed from free text.
// Replacing every "1" or "ab" in every message would garble logs without
// protecting anything worth protecting; the runtime itself never prints a
// secret parameter's value, whatever its length.
const minRedactedSecretLen = 4

const redactedMark = "***"

// secretValues lists the configured values of secret parameters that are
// long enough to be recognisable, longest first (the order the Redactor
// applies them in, so the list reads the way redaction works).
func secretValues(params []Param, values map[string]string) []string {
	var secrets []string
	for i := range params {
		if !params[i].Secret {
			continue
		}
		if v, ok := lookupParam(values, params[i].Name); ok && len(v) >= minRedactedSecretLen {
			secrets = append(secrets, v)
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return secrets
}

// secretRedactor replaces the values secretValues lists with "***".
func secretRedactor(params []Param, values map[string]string) agentlog.Redactor {
	return agentlog.NewRedactor(redactedMark, secretValues(params, values)...)
}

package ocf

import (
	"fmt"
	"strconv"
	"strings"
)

// ParamType is the OCF content type of a parameter. Only the three types that
// both ra-api-1.dtd and the OCF 1.1 schema accept are offered.
type ParamType int

const (
	TypeString ParamType = iota
	TypeInteger
	TypeBoolean
)

// String returns the type name used in meta-data ("string", "integer", "boolean").
func (t ParamType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInteger:
		return "integer"
	case TypeBoolean:
		return "boolean"
	}
	return "invalid(" + strconv.Itoa(int(t)) + ")"
}

// Param declares one resource parameter (OCF_RESKEY_<Name>). The single
// declaration drives meta-data, validation, the typed accessors and docs.
type Param struct {
	Name string
	Type ParamType
	// Default is the value used when the parameter is unset, written as the
	// cluster would pass it ("20", "true"). Empty means no default.
	Default string
	// Required parameters must be set to a non-empty value.
	Required bool
	// Unique tells the cluster no two resources may share this value.
	Unique bool
	// Secret values are never logged or echoed in exit reasons.
	Secret bool
	// Choices, for string parameters, lists the accepted values. The schemas
	// common to Pacemaker tools forbid a "select" type, so choices are
	// enforced by validation and listed in the long description instead.
	Choices []string

	ShortDesc string
	LongDesc  string
}

// parseBool accepts Pacemaker's boolean spellings, case-insensitively:
// true/false, yes/no, on/off, y/n, 1/0.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "y", "1":
		return true, nil
	case "false", "no", "off", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// parseInt accepts an optionally signed decimal integer; surrounding blanks
// are tolerated because they are invisible in pcs output and easy to type.
func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not an integer")
	}
	return n, nil
}

// longDescWithChoices is the long description as published, including the
// list of accepted values for choice parameters.
func (p *Param) longDescWithChoices() string {
	desc := p.LongDesc
	if desc == "" {
		desc = p.ShortDesc
	}
	if len(p.Choices) == 0 {
		return desc
	}
	allowed := "Allowed values: " + strings.Join(p.Choices, ", ") + "."
	if desc == "" {
		return allowed
	}
	return strings.TrimRight(desc, " \n") + "\n" + allowed
}

// checkValue reports why value is unacceptable for p, or "" if it is fine.
// The message never contains the value of a secret parameter.
func (p *Param) checkValue(value string) string {
	shown := func() string {
		if p.Secret {
			return "the value"
		}
		return strconv.Quote(value)
	}
	switch p.Type {
	case TypeInteger:
		if _, err := parseInt(value); err != nil {
			return fmt.Sprintf("parameter %s: %s is not an integer", p.Name, shown())
		}
	case TypeBoolean:
		if _, err := parseBool(value); err != nil {
			return fmt.Sprintf("parameter %s: %s is not a boolean (use true/false, yes/no, on/off, 1/0)", p.Name, shown())
		}
	}
	if len(p.Choices) > 0 && !containsString(p.Choices, value) {
		return fmt.Sprintf("parameter %s: %s is not one of %s", p.Name, shown(), strings.Join(p.Choices, ", "))
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}

// validateParams checks the configured values against the declarations and
// returns one message per problem, in declaration order. Parameters that are
// set but not declared are ignored: Pacemaker and pcs add their own (such as
// trace_ra), and an agent must keep working when an admin leaves a stale one.
func validateParams(params []Param, values map[string]string) []string {
	var problems []string
	for i := range params {
		p := &params[i]
		value, set := lookupParam(values, p.Name)
		if !set {
			if p.Required {
				problems = append(problems, fmt.Sprintf("required parameter %s is not set", p.Name))
			}
			continue
		}
		if msg := p.checkValue(value); msg != "" {
			problems = append(problems, msg)
		}
	}
	return problems
}

// lookupParam treats an empty value as unset, so "pcs resource update r x="
// restores the default rather than passing an empty string to the agent.
func lookupParam(values map[string]string, name string) (string, bool) {
	v, ok := values[name]
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

package ocf

import (
	"strings"
	"testing"
)

func TestParseBoolSpellings(t *testing.T) {
	for _, s := range []string{"true", "TRUE", "True", "yes", "YES", "on", "On", "1", "y", "Y", " yes "} {
		if v, err := parseBool(s); err != nil || !v {
			t.Errorf("parseBool(%q) = %v, %v", s, v, err)
		}
	}
	for _, s := range []string{"false", "FALSE", "no", "No", "off", "OFF", "0", "n", "N"} {
		if v, err := parseBool(s); err != nil || v {
			t.Errorf("parseBool(%q) = %v, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "2", "ja", "enable", "t", "f", "yes please", "-1"} {
		if _, err := parseBool(s); err == nil {
			t.Errorf("parseBool(%q) accepted", s)
		}
	}
}

func TestParseInt(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "42": 42, "-7": -7, "+3": 3, " 12 ": 12, "007": 7} {
		if got, err := parseInt(s); err != nil || got != want {
			t.Errorf("parseInt(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "1.0", "1e3", "0x10", "ten", "99999999999999999999", "1 2"} {
		if _, err := parseInt(s); err == nil {
			t.Errorf("parseInt(%q) accepted", s)
		}
	}
}

func TestValidateParams(t *testing.T) {
	params := []Param{
		{Name: "name", Type: TypeString, Required: true, ShortDesc: "x"},
		{Name: "count", Type: TypeInteger, Default: "1", ShortDesc: "x"},
		{Name: "flag", Type: TypeBoolean, ShortDesc: "x"},
		{Name: "mode", Type: TypeString, Choices: []string{"fast", "safe"}, ShortDesc: "x"},
		{Name: "token", Type: TypeInteger, Secret: true, ShortDesc: "x"},
	}
	cases := []struct {
		values map[string]string
		want   []string
	}{
		{map[string]string{"name": "a"}, nil},
		{map[string]string{"name": "a", "unknown": "whatever", "count": "", "flag": ""}, nil},
		{map[string]string{}, []string{"required parameter name is not set"}},
		{map[string]string{"name": ""}, []string{"required parameter name is not set"}},
		{map[string]string{"name": "a", "count": "x"}, []string{`parameter count: "x" is not an integer`}},
		{map[string]string{"name": "a", "flag": "x"}, []string{`parameter flag: "x" is not a boolean (use true/false, yes/no, on/off, 1/0)`}},
		{map[string]string{"name": "a", "mode": "slow"}, []string{`parameter mode: "slow" is not one of fast, safe`}},
		{map[string]string{"name": "a", "mode": "safe"}, nil},
		{map[string]string{"name": "a", "token": "s3cr3t"}, []string{"parameter token: the value is not an integer"}},
		{map[string]string{"count": "x", "flag": "x"}, []string{
			"required parameter name is not set",
			`parameter count: "x" is not an integer`,
			`parameter flag: "x" is not a boolean (use true/false, yes/no, on/off, 1/0)`}},
		{map[string]string{"name": "a", "count": "1\n2"}, []string{`parameter count: "1\n2" is not an integer`}},
	}
	for _, c := range cases {
		got := validateParams(params, c.values)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%v:\n got %q\nwant %q", c.values, got, c.want)
		}
	}
}

func TestParamTypeString(t *testing.T) {
	if TypeString.String() != "string" || TypeInteger.String() != "integer" || TypeBoolean.String() != "boolean" ||
		ParamType(9).String() != "invalid(9)" {
		t.Error("ParamType names wrong")
	}
}

func TestSecretRedaction(t *testing.T) {
	params := []Param{
		{Name: "key", Secret: true}, {Name: "short", Secret: true}, {Name: "long", Secret: true}, {Name: "public"},
	}
	values := map[string]string{"key": "abcd", "short": "xyz", "long": "abcdefgh", "public": "visible"}
	secrets := secretValues(params, values)
	if strings.Join(secrets, ",") != "abcdefgh,abcd" {
		t.Fatalf("secrets %q", secrets)
	}
	if got := secretRedactor(params, values).Redact("k=abcdefgh s=abcd p=visible xyz"); got != "k=*** s=*** p=visible xyz" {
		t.Errorf("redacted %q", got)
	}
}

package fence

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Values holds the parsed options of one run. Getters fall back to the
// option's Default; after validation the typed getters cannot fail, and for a
// value that does not parse (or an undeclared name) they return the zero value.
type Values struct {
	set *optionSet
	raw map[string]string
}

func newValues(set *optionSet, raw map[string]string) *Values {
	if raw == nil {
		raw = map[string]string{}
	}
	return &Values{set: set, raw: raw}
}

// Get returns the option's value as given, or its default.
func (v *Values) Get(name string) string {
	if s, ok := v.raw[name]; ok {
		return s
	}
	if s := v.set.byName[name]; s != nil {
		return s.Default
	}
	return ""
}

// IsSet reports whether the option was given (defaults do not count).
func (v *Values) IsSet(name string) bool {
	_, ok := v.raw[name]
	return ok
}

// Int returns an Integer option.
func (v *Values) Int(name string) int {
	n, _ := parseInt(v.Get(name))
	return n
}

// Bool returns a Boolean option.
func (v *Values) Bool(name string) bool {
	b, _ := parseBool(v.Get(name))
	return b
}

// Duration returns a Second option.
func (v *Values) Duration(name string) time.Duration {
	d, _ := parseSeconds(v.Get(name))
	return d
}

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "yes", "on", "true", "y":
		return true, nil
	case "0", "no", "off", "false", "n", "":
		return false, nil
	}
	return false, errors.New("not a boolean (use 1/yes/on/true or 0/no/off/false)")
}

// maxSeconds bounds Second values so that sums of them cannot overflow.
const maxSeconds = 1e6

func parseSeconds(s string) (time.Duration, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "s")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number of seconds")
	}
	if f < 0 || f > maxSeconds {
		return 0, fmt.Errorf("seconds must be between 0 and %d", int(maxSeconds))
	}
	return time.Duration(f * float64(time.Second)), nil
}

// checkValue validates one value against its option's type and choices.
func checkValue(s *spec, val string) error {
	var err error
	switch s.Type {
	case Integer:
		_, err = parseInt(val)
	case Boolean:
		_, err = parseBool(val)
	case Second:
		_, err = parseSeconds(val)
	}
	if err != nil {
		return err
	}
	if len(s.Choices) > 0 {
		for _, c := range s.Choices {
			if val == c {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(s.Choices, ", "))
	}
	return nil
}

// staticErrors checks types, choices and required options; it never calls
// the agent. needPlug says whether the action addresses a plug.
func (v *Values) staticErrors(needPlug bool) []error {
	var errs []error
	for _, s := range v.set.specs {
		val, given := v.raw[s.Name]
		if given {
			if err := checkValue(s, val); err != nil {
				errs = append(errs, fmt.Errorf("invalid value for %s (--%s): %v", s.Name, s.long(), err))
			}
			continue
		}
		if s.Required && s.Default == "" {
			errs = append(errs, fmt.Errorf("missing required option %s (--%s)", s.Name, s.long()))
		}
	}
	if v.IsSet(OptPowerTimeout) && v.Duration(OptPowerTimeout) <= 0 {
		errs = append(errs, errors.New("power_timeout must be greater than 0"))
	}
	if needPlug && v.Get(OptPlug) == "" {
		errs = append(errs, errors.New("no plug given: set plug= (or port=) on stdin, or -n/--plug"))
	}
	return errs
}

package fence

import (
	"fmt"
	"strings"

	"github.com/kvmha/kvmha/internal/agentlog"
)

// Type is the type of an option's value, named as in fence-agents meta-data.
type Type int

// Option value types.
const (
	String  Type = iota // any text
	Integer             // a decimal integer
	Boolean             // 1/yes/on/true or 0/no/off/false; a flag on the command line
	Second              // a non-negative number of seconds, fractions allowed
)

// String returns the meta-data name of the type.
func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Integer:
		return "integer"
	case Boolean:
		return "boolean"
	case Second:
		return "second"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Option declares one agent parameter. From it the runtime derives parsing
// (stdin key and command-line flags), validation, meta-data and help.
type Option struct {
	// Name is the stdin key and meta-data parameter name: [a-z][a-z0-9_]*.
	Name string
	// Short is the getopt letter (-x); 0 for none.
	Short rune
	// Long is the long flag without "--"; empty means Name with '_' → '-'.
	Long string
	// Type of the value.
	Type Type
	// Default value, used when the option is not given. Must be valid.
	Default string
	// Required options must be given (or have a Default) for every action
	// except metadata, manpage, help and version.
	Required bool
	// Description is the one-line help and meta-data shortdesc.
	Description string
	// Secret values (passwords, keys) are never logged.
	Secret bool
	// Placeholder names the value in help and getopt mixed: --long=[Placeholder].
	// Empty means a name derived from the type or the option name.
	Placeholder string
	// Choices, when set, restrict a String option to these values
	// (compared case-sensitively); meta-data then uses content type "select".
	Choices []string
	// Aliases are older names of the option: accepted as stdin keys, and
	// listed in meta-data as deprecated parameters beside it (the first one
	// in its obsoletes attribute), as fence-agents lists renamed options, so
	// that pcs accepts a device configured with the old names.
	Aliases []string
}

func (o *Option) long() string {
	if o.Long != "" {
		return o.Long
	}
	return strings.ReplaceAll(o.Name, "_", "-")
}

func (o *Option) placeholder() string {
	if o.Placeholder != "" {
		return o.Placeholder
	}
	switch o.Type {
	case Second:
		return "seconds"
	case Integer:
		return "number"
	}
	return o.Name
}

// mixed is the getopt synopsis used by help and meta-data: "-o, --action=[action]".
func (o *Option) mixed() string {
	var b strings.Builder
	if o.Short != 0 {
		fmt.Fprintf(&b, "-%c, ", o.Short)
	}
	b.WriteString("--")
	b.WriteString(o.long())
	if o.Type != Boolean {
		fmt.Fprintf(&b, "=[%s]", o.placeholder())
	}
	return b.String()
}

// Names of the generic options every agent has (some only when meaningful).
const (
	OptAction             = "action"
	OptPlug               = "plug"
	OptNodeName           = "nodename"
	OptQuiet              = "quiet"
	OptVerbose            = "verbose"
	OptDebugFile          = "debug_file"
	OptVersion            = "version"
	OptHelp               = "help"
	OptSeparator          = "separator"
	OptDelay              = "delay"
	OptPowerTimeout       = "power_timeout"
	OptPowerWait          = "power_wait"
	OptStonithStatusSleep = "stonith_status_sleep"
)

// spec is an option as the runtime uses it: a declared or generic Option plus
// everything parsing and meta-data need.
type spec struct {
	Option
	longs   []string // accepted long flags, primary first
	keys    []string // accepted stdin keys, primary first
	generic bool
	hidden  bool // accepted but absent from help and meta-data
	head    bool // listed before the agent's options
}

// optionSet indexes all options of one agent.
type optionSet struct {
	specs   []*spec // display order
	byName  map[string]*spec
	byKey   map[string]*spec
	byLong  map[string]*spec
	byShort map[rune]*spec
}

func (a *Agent) genericSpecs() (head, tail []*spec) {
	def := ActionReboot
	if a.Unfencing {
		def = ActionOff
	}
	head = append(head, &spec{
		Option: Option{Name: OptAction, Short: 'o', Type: String, Default: def,
			Description: "Fencing action (" + strings.Join(a.actions(), ", ") + ")", Placeholder: "action"},
		keys: []string{"action", "option"},
	})
	plug := &spec{
		Option: Option{Name: OptPlug, Short: 'n', Type: String, Required: false,
			Description: a.plugDescription(), Placeholder: "id", Aliases: []string{"port"}},
		longs:  []string{"plug", "port"},
		hidden: a.NoPlug,
	}
	head = append(head, plug)
	head = append(head, &spec{Option: Option{Name: OptNodeName, Type: String,
		Description: "Name of the target node as the fencer knows it"}, hidden: true})

	tail = append(tail,
		&spec{Option: Option{Name: OptQuiet, Short: 'q', Type: Boolean,
			Description: "Do not log to stderr (syslog, verbose and the debug file are unaffected)"}},
		&spec{Option: Option{Name: OptVerbose, Short: 'v', Type: Boolean,
			Description: "Log debug messages too"}},
		// debug is fence-agents' older name of debug_file: listed as deprecated, as
		// fence_virsh's meta-data lists it, so that pcs takes a device that sets it.
		&spec{Option: Option{Name: OptDebugFile, Short: 'D', Type: String, Placeholder: "debugfile",
			Description: "Append debug messages to this file", Aliases: []string{"debug"}}},
		&spec{Option: Option{Name: OptVersion, Short: 'V', Type: Boolean,
			Description: "Print the version and exit"}},
		&spec{Option: Option{Name: OptHelp, Short: 'h', Type: Boolean,
			Description: "Print this help and exit"}},
	)
	if a.List != nil {
		tail = append(tail, &spec{Option: Option{Name: OptSeparator, Short: 'C', Type: String, Default: ",",
			Placeholder: "char", Description: "Field separator of list and list-status output"}})
	}
	tail = append(tail,
		&spec{Option: Option{Name: OptDelay, Type: Second, Default: "0",
			Description: "Wait this many seconds before off or reboot"}},
		&spec{Option: Option{Name: OptPowerTimeout, Type: Second, Default: "20",
			Description: "Seconds allowed for the plug to reach the requested state; also bounds the whole action (see TIMEOUTS in the manual page)"}},
		&spec{Option: Option{Name: OptPowerWait, Type: Second, Default: "0",
			Description: "Seconds to wait after issuing on or off before checking the status"}},
		&spec{Option: Option{Name: OptStonithStatusSleep, Type: Second, Default: "1",
			Description: "Seconds between status checks while waiting for on or off"}},
	)
	for _, s := range head {
		s.generic, s.head = true, true
	}
	for _, s := range tail {
		s.generic = true
	}
	return head, tail
}

func (a *Agent) plugDescription() string {
	if a.PlugDescription != "" {
		return a.PlugDescription
	}
	return "Identification of the machine to fence (plug, port, node or guest name)"
}

// optionSet builds the index of generic and declared options. Conflicts are
// reported by Check; here later entries simply do not override earlier ones.
func (a *Agent) optionSet() *optionSet {
	head, tail := a.genericSpecs()
	set := &optionSet{
		byName:  map[string]*spec{},
		byKey:   map[string]*spec{},
		byLong:  map[string]*spec{},
		byShort: map[rune]*spec{},
	}
	var all []*spec
	all = append(all, head...)
	for i := range a.Options {
		o := a.Options[i]
		all = append(all, &spec{Option: o})
	}
	all = append(all, tail...)
	for _, s := range all {
		if len(s.longs) == 0 {
			s.longs = []string{s.long()}
		}
		if len(s.keys) == 0 {
			s.keys = []string{s.Name}
		}
		s.keys = append(s.keys, s.Aliases...)
		set.specs = append(set.specs, s)
		if _, dup := set.byName[s.Name]; !dup {
			set.byName[s.Name] = s
		}
		for _, l := range s.longs {
			if _, dup := set.byLong[l]; !dup {
				set.byLong[l] = s
			}
		}
		for _, k := range s.keys {
			for _, kk := range []string{k, strings.ReplaceAll(k, "_", "-")} {
				if _, dup := set.byKey[kk]; !dup {
					set.byKey[kk] = s
				}
			}
		}
		if s.Short != 0 {
			if _, dup := set.byShort[s.Short]; !dup {
				set.byShort[s.Short] = s
			}
		}
	}
	// Long flags also work as stdin keys (fence-agents accept both spellings).
	for l, s := range set.byLong {
		for _, kk := range []string{l, strings.ReplaceAll(l, "-", "_")} {
			if _, dup := set.byKey[kk]; !dup {
				set.byKey[kk] = s
			}
		}
	}
	return set
}

// lookupKey finds the option for a stdin key.
func (set *optionSet) lookupKey(k string) *spec {
	if s := set.byKey[k]; s != nil {
		return s
	}
	return set.byKey[strings.ReplaceAll(k, "-", "_")]
}

// lookupLong finds a long flag by exact name or unique prefix.
func (set *optionSet) lookupLong(name string) (*spec, error) {
	if s := set.byLong[name]; s != nil {
		return s, nil
	}
	var found *spec
	var names []string
	if name != "" {
		for l, s := range set.byLong {
			if strings.HasPrefix(l, name) {
				if found != nil && found != s {
					names = append(names, l)
					continue
				}
				found = s
				names = append(names, l)
			}
		}
	}
	switch {
	case found == nil:
		return nil, fmt.Errorf("option --%s not recognized", agentlog.Clip(name))
	case len(names) > 1 && !sameSpec(set, names):
		return nil, fmt.Errorf("option --%s is ambiguous", agentlog.Clip(name))
	}
	return found, nil
}

func sameSpec(set *optionSet, longs []string) bool {
	for _, l := range longs[1:] {
		if set.byLong[l] != set.byLong[longs[0]] {
			return false
		}
	}
	return true
}

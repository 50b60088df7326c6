package fence

// Doc is the documentation model of a fence agent: what its meta-data, -h
// and manual page say, derived from the same declaration, for renderers
// outside this package (internal/manpage). Additive: the runtime's own
// outputs do not use it.
type Doc struct {
	Name      string
	Version   string
	ShortDesc string
	LongDesc  string
	VendorURL string
	// Unfencing agents' "on" unfences the node it runs on (meta provides=unfencing).
	Unfencing bool
	// NoPlug agents fence a fixed target and take no plug.
	NoPlug bool
	// DefaultAction is what runs without an action option: reboot, or off for unfencing agents.
	DefaultAction string
	// Options are the documented options, generic and declared, in help order.
	Options []OptionDoc
	// Actions are the supported actions, in meta-data order.
	Actions []ActionDoc
}

// OptionDoc is one documented option.
type OptionDoc struct {
	Name        string   // meta-data parameter name
	Flags       string   // getopt synopsis, e.g. "-o, --action=[action]"
	Keys        []string // accepted stdin keys, primary first
	Type        Type
	Default     string
	Required    bool   // as meta-data says (plug: required unless NoPlug)
	Description string // the one-line description
	Help        string // Description with the default and [required], as -h prints it
	Choices     []string
	Secret      bool
	Generic     bool     // one of the runtime's options every agent has
	Deprecated  []string // older names, deprecated meta-data parameters (port for plug)
}

// ActionDoc is one supported action.
type ActionDoc struct {
	Name string
	Help string
}

// Doc returns the agent's documentation model.
func (a *Agent) Doc() Doc {
	d := Doc{
		Name:      a.Name,
		Version:   a.Version,
		ShortDesc: a.ShortDesc,
		LongDesc:  a.LongDesc,
		VendorURL: a.VendorURL,
		Unfencing: a.Unfencing,
		NoPlug:    a.NoPlug,
	}
	for _, s := range a.optionSet().specs {
		if s.Name == OptAction {
			d.DefaultAction = s.Default
		}
		if s.hidden {
			continue
		}
		required := s.Required
		if s.Name == OptPlug {
			required = !a.NoPlug
		}
		d.Options = append(d.Options, OptionDoc{
			Name:        s.Name,
			Flags:       s.mixed(),
			Keys:        append([]string(nil), s.keys...),
			Type:        s.Type,
			Default:     s.Default,
			Required:    required,
			Description: s.Description,
			Help:        s.helpText(),
			Choices:     append([]string(nil), s.Choices...),
			Secret:      s.Secret,
			Generic:     s.generic,
			Deprecated:  append([]string(nil), s.Aliases...),
		})
	}
	for _, act := range a.actions() {
		d.Actions = append(d.Actions, ActionDoc{Name: act, Help: actionHelp[act]})
	}
	return d
}

package manpage

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// CommandExample is one example command line of the kvmha command.
type CommandExample struct {
	Title string
	Lines []string
}

// CommandExtras is what the command's page has besides its declaration.
type CommandExtras struct {
	Examples []CommandExample
	Sections []Section
	SeeAlso  []string
}

// Command renders the section 8 page of a urfave/cli command (kvmha).
func Command(app *cli.App, x CommandExtras) ([]byte, error) {
	if app == nil || app.Name == "" {
		return nil, fmt.Errorf("command without a name")
	}
	if err := checkCommandExamples(app, x.Examples); err != nil {
		return nil, fmt.Errorf("%s: %w", app.Name, err)
	}
	var p page
	p.header(app.Name, 8, "kvmha", "System Manager's Manual", app.Usage)

	p.req("SH", "SYNOPSIS")
	p.line(bold(app.Name) + " [" + italic("global options") + "] " + italic("command") + " [" +
		italic("subcommand") + "] [" + italic("options") + "] [" + italic("arguments") + "]")

	p.req("SH", "DESCRIPTION")
	if app.Description != "" {
		p.text(app.Description, false)
	} else {
		p.text(sentence(app.Usage), false)
	}

	p.req("SH", `"GLOBAL OPTIONS"`)
	flags := visibleFlags(app.Flags)
	if !app.HideHelp {
		p.flag([]string{"help", "h"}, false, "", "show help (also after any command)", "")
	}
	if !app.HideVersion && app.Version != "" {
		p.flag([]string{"version", "v"}, false, "", "print the version", "")
	}
	for _, f := range flags {
		p.docFlag(f)
	}

	p.req("SH", "COMMANDS")
	for _, c := range app.Commands {
		p.command([]string{app.Name}, c)
	}

	if len(x.Examples) > 0 {
		p.req("SH", "EXAMPLES")
		for i, e := range x.Examples {
			if i > 0 {
				p.req("PP")
			}
			p.text(e.Title, false)
			p.example(e.Lines)
		}
	}
	p.sections(x.Sections)

	p.req("SH", `"EXIT STATUS"`)
	p.line("0 on success, 1 on an error (the message is printed on stderr), other codes as a command documents them.")

	p.req("SH", "FILES")
	p.req("TP")
	p.line(italic(SbinDir + "/" + app.Name))
	p.line("The command.")
	p.seeAlso(x.SeeAlso)
	return []byte(p.b.String()), nil
}

// command writes one (sub)command and recurses into its subcommands.
func (p *page) command(parents []string, c *cli.Command) {
	if c.Hidden {
		return
	}
	path := append(append([]string{}, parents...), c.Name)
	p.req("SS", quoteArg(strings.Join(path, " ")))
	syn := bold(strings.Join(path, " "))
	if len(c.Subcommands) > 0 {
		syn += " " + italic("subcommand")
	}
	if len(visibleFlags(c.Flags)) > 0 {
		syn += " [" + italic("options") + "]"
	}
	if c.ArgsUsage != "" {
		syn += " " + italic(c.ArgsUsage)
	}
	p.line(syn)
	p.req("br")
	p.text(sentence(c.Usage), false)
	if len(c.Aliases) > 0 {
		p.line(esc("Also: " + strings.Join(c.Aliases, ", ") + "."))
	}
	if c.Description != "" {
		p.req("PP")
		p.text(c.Description, false)
	}
	for _, f := range visibleFlags(c.Flags) {
		p.docFlag(f)
	}
	for _, sub := range c.Subcommands {
		p.command(path, sub)
	}
}

func visibleFlags(flags []cli.Flag) []cli.DocGenerationFlag {
	var out []cli.DocGenerationFlag
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		if d, ok := f.(cli.DocGenerationFlag); ok {
			out = append(out, d)
		}
	}
	return out
}

func (p *page) docFlag(f cli.DocGenerationFlag) {
	def := f.GetDefaultText()
	if !f.TakesValue() && (def == "false" || def == "") {
		def = ""
	}
	env := ""
	if vars := f.GetEnvVars(); len(vars) > 0 {
		env = strings.Join(vars, ", ")
	}
	p.flag(f.Names(), f.TakesValue(), def, f.GetUsage(), env)
}

// flag writes one option: long name first, then its aliases.
func (p *page) flag(names []string, value bool, def, usage, env string) {
	var parts []string
	for _, n := range names {
		dash := "--"
		if len(n) == 1 {
			dash = "-"
		}
		s := bold(dash + n)
		if value {
			s += " " + italic("value")
		}
		parts = append(parts, s)
	}
	p.req("TP")
	p.line(strings.Join(parts, ", "))
	text := sentence(usage)
	if def != "" {
		text += " Default: " + def + "."
	}
	if env != "" {
		text += " Environment: " + env + "."
	}
	p.line(esc(text))
}

// sentence makes a usage line a sentence: capital first letter, final stop.
func sentence(s string) string {
	s = ensureStop(oneLine(s))
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// checkCommandExamples refuses example lines that call a command or a flag
// the App does not have.
func checkCommandExamples(app *cli.App, exs []CommandExample) error {
	for _, e := range exs {
		for _, l := range e.Lines {
			words := strings.Fields(l)
			if len(words) == 0 || words[0] != app.Name {
				continue
			}
			cmds, flags := app.Commands, app.Flags
			path := app.Name
			for _, w := range words[1:] {
				if strings.HasPrefix(w, "-") {
					name := strings.TrimLeft(strings.SplitN(w, "=", 2)[0], "-")
					if name != "help" && name != "h" && !hasFlag(flags, name) {
						return fmt.Errorf("example %q: %s has no flag %s", l, path, w)
					}
					continue
				}
				var next *cli.Command
				for _, c := range cmds {
					if c.HasName(w) {
						next = c
					}
				}
				if next == nil {
					if len(cmds) > 0 && !strings.ContainsAny(w, "/:") {
						return fmt.Errorf("example %q: %s has no command %s", l, path, w)
					}
					continue // an argument
				}
				cmds, flags, path = next.Subcommands, next.Flags, path+" "+w
			}
		}
	}
	return nil
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

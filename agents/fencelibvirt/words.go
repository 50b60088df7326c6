package fencelibvirt

import (
	"errors"
	"fmt"
	"strings"
)

// splitWords splits s into words as a POSIX shell does: blanks separate
// words, single quotes keep everything literal, double quotes keep all but
// \" \\ \$ and \`, and a backslash outside quotes keeps the next character.
// Nothing is expanded. strict refuses, outside quotes, what a shell would
// treat as an operator or expand (| & ; < > ( ) $ ` * ? [, a leading ~ or
// #) and $ or ` inside double quotes: password_script's value is a shell
// command for fence-agents, and running a different command than the one
// meant would be worse than refusing it.
func splitWords(s string, strict bool) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	end := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			end()
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("ends with a lone backslash")
			}
			i++
			if s[i] != '\n' { // backslash-newline joins lines
				cur.WriteByte(s[i])
			}
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0:
					i++
					if s[i] != '\n' {
						cur.WriteByte(s[i])
					}
				case strict && (s[i] == '$' || s[i] == '`'):
					return nil, fmt.Errorf("shell expansion %q is not supported (no shell runs it)", string(s[i]))
				default:
					cur.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case strict && strings.IndexByte("|&;<>()$`*?[", c) >= 0, strict && !inWord && (c == '~' || c == '#'):
			return nil, fmt.Errorf("shell syntax %q is not supported (no shell runs it: put it in a script)", string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	end()
	return words, nil
}

package agentlog

// Level is a message's severity.
type Level int

// The levels, least severe first.
const (
	Debug Level = iota
	Info
	Warning
	Error
)

// String is the name both runtimes print: ocf_log and the fence-agents
// library use the same four words.
func (l Level) String() string {
	switch l {
	case Debug:
		return "DEBUG"
	case Info:
		return "INFO"
	case Warning:
		return "WARNING"
	}
	return "ERROR"
}

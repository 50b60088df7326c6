// Package fence is the runtime for kvmha's fence agents: the protocol that
// Pacemaker's fencer (pacemaker-fenced) and the fence-agents tools speak.
//
// A fence agent is an [Agent] value (its options and action funcs) plus a
// three-line main:
//
//	func main() {
//		fence.Run(newAgent())
//	}
//
// # Input
//
// With no command-line arguments the agent reads key=value lines from stdin,
// the way pacemaker-fenced runs agents: blank lines and lines starting with #
// are skipped, a value wrapped in double quotes loses the quotes, unknown keys
// are ignored (their names are logged at debug level, never their values),
// empty values count as unset. "option" is an alias of "action" and "port" of
// "plug"; a key may use '-' where the option name has '_'. "nodename" (the
// fencer's name of the target) is kept in [Request.NodeName].
//
// With arguments the command line is parsed GNU-getopt style (short options
// may be bundled, -ovalue / -o value / --long=value / --long value, unique
// prefixes of long options, "--" ends options); stdin is not read. Generic
// options are those of fence-agents that mean something here: -o/--action,
// -n/--plug (also --port), -q/--quiet, -v/--verbose, -D/--debug-file,
// -V/--version, -h/--help, -C/--separator (agents with a list action),
// --delay, --power-timeout, --power-wait and --stonith-status-sleep. Every
// agent-declared [Option] adds its own short and long flag.
//
// # Actions and exit codes
//
// on, off, reboot (the default; off for unfencing agents), status, list,
// list-status, monitor, metadata (alias meta-data), manpage, validate-all.
// Exit 0 on success and 1 on any failure (parse error, invalid options,
// unsupported action, device error, timeout), except status: 0 = on,
// 2 = off, 1 = unknown or error. Messages for the operator go to stdout
// ("Success: Powered OFF", "Status: ON", list lines); errors go to the log.
//
// on and off first query the status (when the agent has one) and succeed at
// once if the plug is already in the wanted state (a status error fails the
// action, an unknown state only warns); otherwise they issue the
// command, sleep power_wait, then poll the status every stonith_status_sleep
// until it matches or power_timeout has passed since the command returned.
// Agents without a status func are trusted when the command returns nil.
// reboot uses the agent's Reboot func when there is one; otherwise it is off
// (skipped when already off) then on, and like fence-agents a failed power-on
// after a successful power-off is logged but still reported as success: the
// node was fenced. delay is slept before off and reboot only.
//
// # Deadline rule
//
// Every run has a single deadline, start + budget, carried by the context
// given to the agent's funcs. The budget is Agent.Timeouts[action] when the
// agent declares one; otherwise power_wait + 2×power_timeout for on and off
// (one power_timeout for issuing the command, one for the state to change),
// twice that for reboot, and power_timeout for status, list, list-status,
// monitor and validate-all. delay is added for off and reboot. If the action
// has not returned one second after the deadline (funcs should honour their
// context and return earlier), the runtime logs a failure and exits 1 while
// the action is still running. fence-agents' disable_timeout (no timeout
// under Pacemaker) is deliberately not supported: there is always a deadline.
//
// # Logging
//
// Warnings and errors go to stderr (unless quiet) and to syslog; with
// verbose every level does. debug_file receives every level; if it cannot be
// opened that is a warning, never a failure. Syslog is written from a
// goroutine through a bounded queue, so it can neither block nor fail an
// action. Values of options declared Secret are replaced by "******" in every
// log line, whichever part of the agent wrote it.
package fence

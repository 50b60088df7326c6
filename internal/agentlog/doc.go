// Package agentlog is the logging plumbing the agent runtimes share:
// severity levels, a queue that lets an action log without ever waiting on
// where the log goes, a syslog sink, and the hiding of secret values.
//
// It has no line format and no routing rules of its own. internal/ocf writes
// ocf_log-style lines to stderr, syslog and the HA_LOGFILE/HA_DEBUGLOG files,
// all behind one Queue; internal/fence writes fence-agents-style lines to
// stderr and its debug file directly and only syslog behind a Queue. Those
// choices stay in the runtimes; what is here is what they have in common.
package agentlog

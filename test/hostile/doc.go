// Package hostile is the hostile-input sweep: every kvmha binary, every action, every
// parameter its declaration lists, every kind of bad value, each run alone in a sandbox of
// fresh namespaces, checked for the rules no input may break (no panic, exit inside the
// deadline, bounded memory and logs, stop 0 and probe 7 where nothing was started, one-line
// exit reasons naming the parameter, no key echoed). Run it with `make hostile` (as root);
// its tests carry the build tag hostile.
package hostile

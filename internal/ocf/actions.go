package ocf

// Action names as they appear in argv[1].
const (
	ActionStart       = "start"
	ActionStop        = "stop"
	ActionMonitor     = "monitor"
	ActionStatus      = "status" // legacy alias of monitor
	ActionPromote     = "promote"
	ActionDemote      = "demote"
	ActionNotify      = "notify"
	ActionMigrateTo   = "migrate_to"
	ActionMigrateFrom = "migrate_from"
	ActionReload      = "reload"
	ActionReloadAgent = "reload-agent"
	ActionValidateAll = "validate-all"
	ActionMetaData    = "meta-data"
	ActionUsage       = "usage"
	ActionHelp        = "help"
)

// actionSpec says how the runtime prepares one action.
type actionSpec struct {
	name string
	// handler picks the agent's handler; nil for validate-all, which is
	// always available because the runtime's own checks implement it.
	handler func(*Agent) Handler
	// runsValidate: whether Agent.Validate runs before the handler. It is
	// skipped for stop, demote and notify: those must be able to tear things
	// down even when the environment has degraded, and the agent's stop logic
	// knows better than a generic check whether it is safe to claim success.
	runsValidate bool
	// advertised: whether meta-data lists the action when implemented.
	// reload-agent is never listed: ra-api-1.dtd rejects the name (checked by
	// ocf-tester), and Pacemaker only uses it together with the "reloadable"
	// parameter attribute, which that DTD rejects as well.
	advertised bool
}

// actionSpecs is in the order meta-data lists actions.
var actionSpecs = []actionSpec{
	{ActionStart, func(a *Agent) Handler { return a.Start }, true, true},
	{ActionStop, func(a *Agent) Handler { return a.Stop }, false, true},
	{ActionMonitor, func(a *Agent) Handler { return a.Monitor }, true, true},
	{ActionStatus, func(a *Agent) Handler { return a.Monitor }, true, false},
	{ActionPromote, func(a *Agent) Handler { return a.Promote }, true, true},
	{ActionDemote, func(a *Agent) Handler { return a.Demote }, false, true},
	{ActionNotify, func(a *Agent) Handler { return a.Notify }, false, true},
	{ActionMigrateTo, func(a *Agent) Handler { return a.MigrateTo }, true, true},
	{ActionMigrateFrom, func(a *Agent) Handler { return a.MigrateFrom }, true, true},
	{ActionReload, func(a *Agent) Handler { return a.Reload }, true, true},
	{ActionReloadAgent, func(a *Agent) Handler { return a.ReloadAgent }, true, false},
	{ActionValidateAll, nil, true, true},
}

// lookupAction finds the spec of a parameter-reading action. meta-data and
// usage are handled before any parsing and are not in the table.
func lookupAction(name string) (actionSpec, bool) {
	for _, spec := range actionSpecs {
		if spec.name == name {
			return spec, true
		}
	}
	if name == ActionMetaData {
		return actionSpec{name: ActionMetaData, advertised: true}, true
	}
	return actionSpec{}, false
}

// isMonitor reports whether action reports resource state (monitor, status).
func isMonitor(action string) bool {
	return action == ActionMonitor || action == ActionStatus
}

// implemented reports whether the agent can run the action.
func (a *Agent) implemented(spec actionSpec) bool {
	return spec.handler == nil || spec.handler(a) != nil
}

package rbd

// NeedsCeph says which actions the static build hands to the agent's
// Ceph-linked twin (internal/twin.Dispatch; the package says why): start
// only. Monitor and stop never need the cluster.
func NeedsCeph(action string, _ func(string) string) bool { return action == "start" }

// Package capacity answers "can the cluster lose any one node?" for a
// Pacemaker cluster whose resources carry utilization attributes, the way
// ocf:kvmha:VirtualDomain (and heartbeat:VirtualDomain) maintains them: cpu
// (vCPUs), hv_memory and host_memory (MiB). Node capacities are the nodes'
// utilization attributes, which the operator sets (crm_attribute -z, pcs node
// utilization). Any attribute name works; those three are only the usual ones.
//
// The package is pure: it reads XML and computes. ParseCIB reads a CIB (what
// cibadmin --query prints) into a Cluster; ApplyCrmMon replaces its node states
// and resource placement with what crm_mon --output-as=xml reports; Plan turns
// a Cluster into a Report; Report.WriteTable and encoding/json print it.
//
// # What is read from the CIB
//
//   - cluster options placement-strategy (default "default") and
//     symmetric-cluster (default true);
//   - nodes and their utilization (capacity);
//   - primitives with utilization, also inside groups and clones (and
//     old-style master resources); a primitive using a template inherits the
//     template's utilization and meta attributes. Resources without
//     utilization ask for nothing and are left out. A resource whose
//     target-role (its own or a parent's) is Stopped is left out, and so are
//     the group members after such a member (they are colocated with it and
//     cannot run either). Bundles are not modelled (a warning names them);
//   - rsc_location constraints with a node and a score: -INFINITY bans the
//     resource (a ban on a group member or on the primitive of a clone bans the
//     whole group or clone) from that node; with symmetric-cluster=false only
//     nodes with a constraint scoring 0 or more are allowed. Constraints with
//     rules or rsc-pattern, or for a role other than Started, are ignored with
//     a warning; positive scores (preferences) do not restrict placement and
//     are ignored;
//   - nvpair sets with rules are ignored with a warning (the rule cannot be
//     evaluated here); sets are otherwise merged like Pacemaker does, the
//     highest score first, the first value of a name winning. id-ref
//     references are followed;
//   - placement and node states from the status section: a node is online
//     when its node_state says it is a cluster member with a running controller
//     (in_ccm and crmd, as words or, since Pacemaker 2.1.7, as timestamps), in
//     standby or maintenance per its node attributes; a resource is active on
//     an online node when its operation history there (ordered by call-id,
//     pending operations last) ends in a running state: a successful start,
//     promote, demote, migrate_from or migrate_to, a monitor reporting it
//     running, or any failed or pending operation other than a completed stop
//     or a monitor finding it stopped (a resource in an unknown state still
//     holds its memory). ApplyCrmMon replaces this reading with the
//     scheduler's own, which the kvmha command uses on a live cluster.
//
// A utilization value must be a whole number from 0 to 2147483647; anything
// else is an error that names the resource or node (Pacemaker would log a
// warning and use 0, which hides the mistake this command exists to find).
//
// # Pacemaker's rule
//
// With a placement-strategy other than "default", Pacemaker places a resource
// on a node only if, for every utilization attribute the resource defines, the
// node's remaining capacity (its own value minus what the resources placed on
// it use) is at least what the resource asks for. An attribute the node does
// not define counts as capacity 0 (pcmk_sched_utilization.c: a missing value
// reads as 0), so a node without capacities takes no resource that asks for
// anything; a warning says so. Attributes the resource does not define are not
// checked. A group must fit on one node as a whole; when it fits nowhere,
// Pacemaker places its first member alone and the following members only
// while they fit beside it, and the rest stay stopped. With
// placement-strategy "default" Pacemaker ignores utilization altogether and
// may overload hosts: Plan still computes what would fit, and warns.
//
// # The plan
//
// For every online node F, Plan takes F's guests (resources active on F and
// on no other online node; a group moves as one; a clone instance moves only
// if the clone may run another instance elsewhere: fewer than clone-max
// instances on the survivors and a survivor with fewer than clone-node-max)
// and places them on the survivors - online nodes other than F; standby,
// maintenance and offline nodes take nothing - with Pacemaker's rule, starting
// from the survivors' current load. It is a first-fit-decreasing heuristic:
// the largest guest first (by memory, the larger of hv_memory and host_memory,
// then cpu, then the other attributes, then by id), each onto the allowed
// survivor that has room and the most free capacity, compared like
// Pacemaker's "balanced" strategy (per attribute: the node with more free
// capacity in more attributes wins; then the node running fewer guests; then
// the node name). The survivors' own guests stay where they are, as
// resource-stickiness makes Pacemaker keep them. Pacemaker's scheduler also
// weighs location scores, stickiness, colocation and ordering constraints and
// priorities, which the plan ignores apart from -INFINITY bans and opt-in
// clusters, and assigns in its own order; so the plan can differ from what
// Pacemaker does. Compared with crm_simulate --node-fail on 150 random
// layouts of 3 or 4 nodes and 3 to 9 guests (518 losses), the verdicts agreed
// in 509 losses with resource-stickiness=100, and in 484 without stickiness,
// where Pacemaker also moves the survivors' guests, which sometimes finds
// room the plan does not and sometimes loses it.
//
// A failure is OK when every guest finds a node, SHORT otherwise. A guest
// that does not fit is "no-room"; one that no survivor is allowed to run is
// "not-allowed" (also SHORT); a clone instance that the clone's limits keep
// stopped is "clone-limit" (not a problem: the clone runs on the survivors).
// The shortfall of a SHORT failure is, per attribute, the sum of what the
// no-room guests ask for minus the free capacity left on the survivors after
// the others were placed (negative free counts as 0), floored at 0: how much
// capacity the survivors lack in total. It can be 0 in every attribute when
// the free capacity is there but split across nodes so that no node can take
// a guest; the failure's note says so.
package capacity

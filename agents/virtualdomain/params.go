package virtualdomain

import "github.com/kvmha/kvmha/internal/ocf"

// Parameter names. The first 27 are heartbeat:VirtualDomain 4.12's, with its
// defaults and meaning; the ceph_* ones are kvmha's.
const (
	pConfig             = "config"
	pHypervisor         = "hypervisor"
	pForceStop          = "force_stop"
	pMigrationTransport = "migration_transport"
	pMigrationUser      = "migration_user"
	pMigrationDowntime  = "migration_downtime"
	pMigrationSpeed     = "migration_speed"
	pMigrationNetSuffix = "migration_network_suffix"
	pMigrateURI         = "migrateuri"
	pMigrateOptions     = "migrate_options"
	pMonitorScripts     = "monitor_scripts"
	pAutosetCPU         = "autoset_utilization_cpu"
	pAutosetHostMemory  = "autoset_utilization_host_memory"
	pAutosetHVMemory    = "autoset_utilization_hv_memory"
	pUnsetCPU           = "unset_utilization_cpu"
	pUnsetHostMemory    = "unset_utilization_host_memory"
	pUnsetHVMemory      = "unset_utilization_hv_memory"
	pMigratePort        = "migrateport"
	pRemoteURI          = "remoteuri"
	pSaveConfigOnStop   = "save_config_on_stop"
	pSyncConfigOnStop   = "sync_config_on_stop"
	pSnapshot           = "snapshot"
	pBackingFile        = "backingfile"
	pStateless          = "stateless"
	pCopyInDirs         = "copyindirs"
	pShutdownMode       = "shutdown_mode"
	pStartResources     = "start_resources"
	pCephConf           = "ceph_conf"
	pCephUser           = "ceph_user"
	pCephKeyring        = "ceph_keyring"
	pCephMonHost        = "ceph_mon_host"
)

var params = []ocf.Param{
	{Name: pConfig, Type: ocf.TypeString, Required: true, Unique: true,
		ShortDesc: "Virtual domain configuration file",
		LongDesc: "Absolute path to the libvirt domain XML of this virtual domain. The domain name is read " +
			"from its <name> element; its RBD disks are found in its <disk type='network'> elements."},
	{Name: pHypervisor, Type: ocf.TypeString,
		ShortDesc: "Hypervisor URI",
		LongDesc: "libvirt URI of the local hypervisor. Default: LIBVIRT_DEFAULT_URI, else uri_default of " +
			"/etc/libvirt/libvirt.conf, else qemu:///system (what 'virsh --quiet uri' prints). " +
			"Local sockets (qemu:///system, honouring ?socket=), qemu+tcp, qemu+tls and qemu+ssh " +
			"(qemu+ssh://[user@]host[:port]/system with libvirt's keyfile, known_hosts, no_verify and socket " +
			"parameters; the ssh client is built in: without keyfile the user's ~/.ssh/id_rsa, id_ecdsa or " +
			"id_ed25519, host keys from ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts, an unknown host " +
			"refused unless no_verify=1, ~/.ssh/config not read) are supported. A hypervisor on another " +
			"host is remote: its guests' qemu processes are not looked for in this host's process table."},
	{Name: pForceStop, Type: ocf.TypeBoolean, Default: "0",
		ShortDesc: "Always force shutdown on stop",
		LongDesc: "Always destroy the domain on stop instead of first asking the guest to shut down. " +
			"Only for guests that cannot shut down gracefully."},
	{Name: pMigrationTransport, Type: ocf.TypeString, Default: "",
		ShortDesc: "Remote hypervisor transport",
		LongDesc: "Transport libvirtd uses to reach the target libvirtd during a live migration " +
			"(tcp, tls, ssh, ...), inserted into the target URI as driver+transport://node/path. " +
			"Empty: libvirt's default for a remote host (TLS)."},
	{Name: pMigrationUser, Type: ocf.TypeString,
		ShortDesc: "Remote username for the remoteuri",
		LongDesc:  "User name put into the computed target URI (user@node). Ignored when remoteuri is set."},
	{Name: pMigrationDowntime, Type: ocf.TypeInteger, Default: "0",
		ShortDesc: "Live migration downtime",
		LongDesc:  "Maximum downtime of a live migration in milliseconds; 0 keeps libvirt's default."},
	{Name: pMigrationSpeed, Type: ocf.TypeInteger, Default: "0",
		ShortDesc: "Live migration speed",
		LongDesc:  "Bandwidth limit of a live migration in MiB/s; 0 means unlimited."},
	{Name: pMigrationNetSuffix, Type: ocf.TypeString, Default: "",
		ShortDesc: "Migration network host name suffix",
		LongDesc: "Use a dedicated migration network: this suffix is appended to the target node name " +
			"(before the first dot of an FQDN) in the target URI and in the computed migration URI " +
			"(tcp:<node><suffix>:<migrateport> for qemu). The name must resolve on every node."},
	{Name: pMigrateURI, Type: ocf.TypeString,
		ShortDesc: "Custom migrateuri for migration state transfer",
		LongDesc: "Migration data URI. When set, migration_network_suffix, migrateport and --migrateuri in " +
			"migrate_options are ignored for the data URI. %n is replaced by the target node name " +
			"(with migration_network_suffix applied)."},
	{Name: pMigrateOptions, Type: ocf.TypeString,
		ShortDesc: "live migrate options",
		LongDesc: "Extra virsh migrate options. Understood: --migrateuri=URI, --live, --p2p, --tunnelled, " +
			"--persistent, --undefinesource, --unsafe, --compressed, --auto-converge, --postcopy, " +
			"--abort-on-error, --tls, --parallel, --verbose. Any other option makes validate-all and " +
			"migrate_to fail, naming it."},
	{Name: pMonitorScripts, Type: ocf.TypeString, Default: "",
		ShortDesc: "space-separated list of monitor scripts",
		LongDesc: "Programs run (without a shell) after the domain is found running, by monitor, start and " +
			"migrate_from; one failing fails the monitor. start and migrate_from finish only when all " +
			"succeed, so size their timeouts accordingly. The only programs kvmha runs on a monitor."},
	{Name: pAutosetCPU, Type: ocf.TypeBoolean, Default: "true",
		ShortDesc: "Enable auto-setting the CPU utilization of the resource",
		LongDesc: "Put the domain's vCPU count into the resource's cpu utilization attribute during " +
			"monitor. The attribute is written (with crm_resource) only when the value changed."},
	{Name: pAutosetHostMemory, Type: ocf.TypeBoolean, Default: "true",
		ShortDesc: "Enable auto-setting the host_memory utilization of the resource",
		LongDesc:  "Put the domain's maximum memory (MiB) into the host_memory utilization attribute; written only when changed."},
	{Name: pAutosetHVMemory, Type: ocf.TypeBoolean, Default: "true",
		ShortDesc: "Enable auto-setting the hv_memory utilization of the resource",
		LongDesc:  "Put the domain's maximum memory (MiB) into the hv_memory utilization attribute; written only when changed."},
	{Name: pUnsetCPU, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Enable auto-removing the CPU utilization of the resource",
		LongDesc:  "When autoset_utilization_cpu is false, remove the cpu utilization attribute during monitor."},
	{Name: pUnsetHostMemory, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Enable auto-removing the host_memory utilization of the resource",
		LongDesc:  "When autoset_utilization_host_memory is false, remove the host_memory utilization attribute during monitor."},
	{Name: pUnsetHVMemory, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Enable auto-removing the hv_memory utilization of the resource",
		LongDesc:  "When autoset_utilization_hv_memory is false, remove the hv_memory utilization attribute during monitor."},
	{Name: pMigratePort, Type: ocf.TypeInteger,
		ShortDesc: "Port for migrateuri",
		LongDesc: "Port of the migration URI computed for migration_network_suffix. If unset, a random " +
			"port in 49152-49215."},
	{Name: pRemoteURI, Type: ocf.TypeString,
		ShortDesc: "Custom remoteuri to communicate with a remote hypervisor",
		LongDesc: "URI of the target libvirtd for a live migration, as the source libvirtd reaches it " +
			"(peer to peer). When set, migration_user and migration_network_suffix do not apply to it. " +
			"%n is replaced by the target node name."},
	{Name: pSaveConfigOnStop, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Save running VM's config back to its config file",
		LongDesc: "Write the domain's persistent XML (with security information) back to the config file " +
			"when it differs, on monitor, stop and migration."},
	{Name: pSyncConfigOnStop, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Save running VM's config back to its config file",
		LongDesc:  "Implies save_config_on_stop, then runs csync2 -x on the config file to copy it to every node."},
	{Name: pSnapshot, Type: ocf.TypeString, Default: "",
		ShortDesc: "Restore state on start/stop",
		LongDesc: "Directory where stop saves the domain's memory state (<name>.state) instead of shutting " +
			"it down; start restores from it when the file exists. Incompatible with force_stop."},
	{Name: pBackingFile, Type: ocf.TypeString, Default: "",
		ShortDesc: "Copy-on-write backing file (not honoured)",
		LongDesc: "heartbeat:VirtualDomain creates a local qcow2 overlay on this file. kvmha does not: " +
			"its guests live on RBD; validate-all fails when it is set."},
	{Name: pStateless, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Re-create the qcow2 overlay at each start (not honoured)",
		LongDesc:  "Belongs to backingfile, which kvmha does not honour; validate-all fails when it is true."},
	{Name: pCopyInDirs, Type: ocf.TypeString, Default: "",
		ShortDesc: "Directories for virt-copy-in in stateless mode (not honoured)",
		LongDesc:  "Belongs to stateless mode, which kvmha does not honour; validate-all fails when it is set."},
	{Name: pShutdownMode, Type: ocf.TypeString, Default: "",
		ShortDesc: "Instruct virsh to use specific shutdown mode",
		LongDesc: "Shutdown method for stop: a comma-separated list of acpi, agent, initctl, signal and " +
			"paravirt. Empty lets the hypervisor choose. (heartbeat:VirtualDomain 4.12 ignores this " +
			"parameter through a typo; kvmha honours it.)"},
	{Name: pStartResources, Type: ocf.TypeBoolean, Default: "false",
		ShortDesc: "Ensure the needed virtual storage pools and networks are started",
		LongDesc: "Start the storage pools and virtual networks the domain XML names before a start, and " +
			"on the target before a live migration."},
	{Name: pCephConf, Type: ocf.TypeString,
		ShortDesc: "Ceph configuration file for the RBD checks",
		LongDesc: "Ceph configuration used to check the domain's RBD images before a start. Default: " +
			"/etc/ceph/ceph.conf when it exists."},
	{Name: pCephUser, Type: ocf.TypeString,
		ShortDesc: "Ceph user (id, without client.) for the RBD checks",
		LongDesc: "cephx user for the RBD checks. Default: the auth username of the domain's RBD disk. " +
			"With ceph_keyring, the agent also stores this user's key in the libvirt secret the domain " +
			"XML refers to (over libvirt's RPC; the key is never in argv, environment or logs)."},
	{Name: pCephKeyring, Type: ocf.TypeString,
		ShortDesc: "Keyring file of ceph_user",
		LongDesc:  "Keyring holding the key of the Ceph user. Default: Ceph's keyring search path."},
	{Name: pCephMonHost, Type: ocf.TypeString,
		ShortDesc: "Ceph monitor addresses for the RBD checks",
		LongDesc: "Monitor addresses (Ceph mon_host syntax). Default: the <host> elements of the RBD disk, " +
			"every address of a name tried, else mon_host of ceph_conf."},
}

#!/bin/bash
# guest.sh: the lab's tiny test guest (Debian cloud kernel + busybox initramfs, ~2.5 s to READY
# under TCG in 128 MiB, powers off at once on the ACPI power button).
#
#   guest.sh build
#       -> $LAB_CACHE/guest/vmlinuz and initrd.img. The kernel package (linux-image-*-cloud-amd64,
#          the one linux-image-cloud-amd64 depends on) is fetched with "apt-get download" and
#          unpacked, never installed; busybox comes from the installed busybox-static. Skipped
#          when both files exist and the kernel, busybox and guest-init versions are unchanged.
#   guest.sh writer
#       -> $LAB_CACHE/guest/initrd-writer.img: initrd.img with test/lab/guest-writer added as
#          /bin/kvmha-writer (a second cpio archive appended: the kernel unpacks both). With
#          kvmha_writer=NAME on the command line the guest logs writes to its disk (vda) every
#          100 ms and prints them on its console (the campaign's guests; see test/campaign).
#   guest.sh domain NAME [--rbd POOL/IMAGE --secret-uuid UUID [--ceph-conf FILE] [--ceph-user ID]]
#                        [--mem MIB] [--cmdline ARGS] [--initrd FILE] [--console PATH]
#       -> prints a libvirt domain XML: type qemu, qemu64 cpu, 1 vcpu, 128 MiB (--mem), direct
#          kernel boot with "console=ttyS0 panic=-1 quiet ARGS" (quiet saves ~1.5 s of emulated
#          UART; --cmdline loglevel=7 brings the kernel log back), serial console to
#          $LAB_STATE/consoles/NAME.log (truncated at each start; --console PATH: that file,
#          appended to), on_poweroff destroy. --initrd: another initramfs (guest.sh writer's).
#          --rbd adds a virtio disk vda on RBD: cephx user --ceph-user (default kvmha) with the
#          key in libvirt secret UUID, the monitor's msgr1 address from --ceph-conf (default
#          $LAB_STATE/ceph/ceph.conf), cache none, and kvmha_rbd_check=1 on the command line.
#
# The guest's serial console shows, in this order:
#   kvmha-guest: up, kernel <version>
#   DISK: vda <bytes> read=ok md5_4k=<md5 of the first 4 KiB>   (when /dev/vda exists or the
#   DISK: none                                                   kernel command line has
#                                                                kvmha_rbd_check=1)
#   kvmha-guest: READY
#   kvmha-guest: power button, powering off                      (on ACPI shutdown)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

G=$LAB_CACHE/guest
# Kernel modules the guest loads, in dependency order after resolution (see modules_closure).
MODULES=(evdev button virtio_pci virtio_blk)

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }

# The guest's /init. Changing it changes the build stamp, so "build" picks it up.
guest_init() {
    cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m.ko"; done
echo "kvmha-guest: up, kernel $(uname -r)"
# ACPI power button (virsh shutdown) -> power off at once
for e in /sys/class/input/event*; do
    [ "$(cat "$e/device/name" 2>/dev/null)" = "Power Button" ] || continue
    ( head -c 1 "/dev/input/${e##*/}" >/dev/null && echo "kvmha-guest: power button, powering off" && poweroff -f ) &
done
# Prove that qemu opened the (RBD) disk: size, one read, a checksum of the first 4 KiB.
if grep -qw kvmha_rbd_check=1 /proc/cmdline || [ -e /sys/block/vda ]; then
    i=0
    while [ ! -e /sys/block/vda ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
    if [ -e /sys/block/vda ]; then
        size=$(($(cat /sys/block/vda/size) * 512))
        if sum=$(dd if=/dev/vda bs=4096 count=1 2>/dev/null | md5sum); then
            echo "DISK: vda $size read=ok md5_4k=${sum%% *}"
        else
            echo "DISK: vda $size read=error"
        fi
    else
        echo "DISK: none"
    fi
fi
echo "kvmha-guest: READY"
# The campaign's guests carry a writer (guest.sh writer) and name themselves on the command line.
# A writer that dies reboots the guest, as an application watchdog would: the campaign saw one
# crash inside a guest just live-migrated under TCG (Go runtime: "fatal error: bad ts", then
# SIGSEGV), and a guest left without its writer looks hung for the rest of the run.
if [ -x /bin/kvmha-writer ] && grep -q 'kvmha_writer=' /proc/cmdline; then
    (/bin/kvmha-writer; echo "kvmha-guest: writer exited ($?), rebooting"; reboot -f) &
fi
while :; do sleep 3600; done
INIT
}

# modules_closure MODROOT KVER NAME...: print NAME... and their dependencies, dependencies first.
modules_closure() {
    local root=$1 kv=$2; shift 2
    local -A seen=()
    local out=()
    visit() {
        local m=$1 f d
        [ -z "${seen[$m]:-}" ] || return 0
        seen[$m]=1
        f=$(find "$root/lib/modules/$kv/kernel" -name "$m.ko" -print -quit)
        [ -n "$f" ] || lab_die guest "module $m not found in the kernel package"
        for d in $(modinfo -F depends "$f" | tr ',' ' '); do visit "$d"; done
        out+=("$m=$f")
    }
    local m
    for m in "$@"; do visit "$m"; done
    printf '%s\n' "${out[@]}"
}

build() {
    mkdir -p "$G"
    exec 9>"$G/.lock" # one build at a time (parallel lab set-ups share the cache)
    flock 9
    local kpkg kver bbver stamp
    # one apt-cache call (~0.6 s): the metapackage pins its kernel as "Depends: PKG (= VERSION)"
    read -r kpkg kver < <(apt-cache show --no-all-versions linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^Depends:.*\(linux-image-[^ ,]*-cloud-amd64\) (= \([^)]*\)).*/\1 \2/p' | head -1) || true
    if [ -z "${kpkg:-}" ] || [ -z "${kver:-}" ]; then
        lab_die guest "apt-cache knows no linux-image-cloud-amd64 (run apt-get update)"
    fi
    bbver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) || lab_die guest "busybox-static is not installed"
    [ -x /bin/busybox ] || lab_die guest "/bin/busybox missing"
    stamp="kernel=$kpkg/$kver busybox=$bbver init=$( (guest_init; echo "${MODULES[*]}") | md5sum | cut -c1-12)"
    if [ -s "$G/vmlinuz" ] && [ -s "$G/initrd.img" ] && [ "$(cat "$G/stamp" 2>/dev/null)" = "$stamp" ]; then
        lab_log guest "up to date ($stamp)"
        return 0
    fi
    lab_log guest "building: $stamp"

    local deb=$G/debs/${kpkg}_${kver//:/%3a}_amd64.deb
    if [ ! -s "$deb" ]; then
        rm -rf "$G/debs"
        mkdir -p "$G/debs"
        # apt's _apt user cannot write here: the download then runs as root, which is fine
        (cd "$G/debs" && apt-get download -q "$kpkg=$kver" 2>&1 | grep -v 'unsandboxed' >&2) || true
        [ -s "$deb" ] || lab_die guest "apt-get download $kpkg=$kver failed"
    fi
    local w=$G/work
    rm -rf "$w"
    mkdir -p "$w/kernel" "$w/root"/{bin,dev,proc,sys,lib/modules}
    dpkg-deb -x "$deb" "$w/kernel"
    local kv
    kv=$(ls "$w/kernel/lib/modules")

    local r=$w/root line
    cp /bin/busybox "$r/bin/busybox"
    : >"$r/lib/modules/load-order"
    while IFS= read -r line; do
        cp "${line#*=}" "$r/lib/modules/${line%%=*}.ko"
        echo "${line%%=*}" >>"$r/lib/modules/load-order"
    done < <(modules_closure "$w/kernel" "$kv" "${MODULES[@]}")
    guest_init >"$r/init"
    chmod 0755 "$r/init"
    (cd "$r" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -6) >"$G/initrd.img.tmp"
    cp "$w/kernel/boot/vmlinuz-$kv" "$G/vmlinuz.tmp"
    mv "$G/initrd.img.tmp" "$G/initrd.img"
    mv "$G/vmlinuz.tmp" "$G/vmlinuz"
    echo "$stamp" >"$G/stamp"
    lab_log guest "built $G/vmlinuz ($kv) and $G/initrd.img ($(du -k "$G/initrd.img" | cut -f1) KiB; modules: $(paste -sd ' ' "$r/lib/modules/load-order"))"
    rm -rf "$w"
}

# writer: the initramfs of the campaign's guests (see the usage above).
writer() {
    build
    local src=$LAB_ROOT/test/lab/guest-writer ringsrc=$LAB_ROOT/test/campaign/ring stamp w=$G/writer
    stamp="base=$(md5sum <"$G/initrd.img" | cut -c1-12) src=$(cat "$src"/*.go "$ringsrc"/ring.go | md5sum | cut -c1-12)"
    if [ -s "$G/initrd-writer.img" ] && [ "$(cat "$G/writer.stamp" 2>/dev/null)" = "$stamp" ]; then
        lab_log guest "writer initramfs up to date ($stamp)"
        return 0
    fi
    rm -rf "$w"
    mkdir -p "$w/bin"
    (cd "$LAB_ROOT" && PATH=$PATH:/usr/local/go/bin GOFLAGS=-mod=mod CGO_ENABLED=0 \
        go build -trimpath -ldflags='-s -w' -o "$w/bin/kvmha-writer" ./test/lab/guest-writer) ||
        lab_die guest "go build of test/lab/guest-writer failed"
    (cd "$w" && find bin | cpio -o -H newc --quiet -R 0:0 | gzip -6) >"$w/writer.cpio.gz"
    cat "$G/initrd.img" "$w/writer.cpio.gz" >"$G/initrd-writer.img.tmp"
    mv "$G/initrd-writer.img.tmp" "$G/initrd-writer.img"
    echo "$stamp" >"$G/writer.stamp"
    rm -rf "$w"
    lab_log guest "built $G/initrd-writer.img ($(du -k "$G/initrd-writer.img" | cut -f1) KiB)"
}

xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e "s/'/\&apos;/g" -e 's/"/\&quot;/g' <<<"$1"; }

domain() {
    local name=${1:-}
    case "$name" in '' | -*) usage ;; esac
    shift
    local rbd="" conf=$LAB_STATE/ceph/ceph.conf secret="" user=kvmha mem=128 extra="" initrd=$G/initrd.img console="" append=off
    while [ $# -gt 0 ]; do
        case "$1" in
        --rbd) rbd=${2:?}; shift 2 ;;
        --initrd) initrd=${2:?}; shift 2 ;;
        --console) console=${2:?}; append=on; shift 2 ;;
        --ceph-conf) conf=${2:?}; shift 2 ;;
        --secret-uuid) secret=${2:?}; shift 2 ;;
        --ceph-user) user=${2:?}; shift 2 ;;
        --mem) mem=${2:?}; shift 2 ;;
        --cmdline) extra=${2:?}; shift 2 ;;
        *) usage ;;
        esac
    done
    if [ ! -s "$G/vmlinuz" ] || [ ! -s "$G/initrd.img" ]; then
        lab_die guest "no guest kernel in $G: run guest.sh build"
    fi
    if [ -z "$console" ]; then
        mkdir -p "$LAB_STATE/consoles"
        console=$(cd "$LAB_STATE/consoles" && pwd)/$name.log
    fi
    local cmdline="console=ttyS0 panic=-1 quiet${extra:+ $extra}" disk=""
    if [ -n "$rbd" ]; then
        [ -n "$secret" ] || lab_die guest "--rbd needs --secret-uuid"
        [ -r "$conf" ] || lab_die guest "cannot read Ceph configuration $conf"
        local mon_host host port
        mon_host=$(sed -n 's/^[[:space:]]*mon[_ ]host[[:space:]]*=[[:space:]]*//p' "$conf" | head -1)
        # The msgr1 address. qemu hands libvirt's host/port to librados as "host:port"; for a
        # port other than 3300/6789 librados tries both protocols there, the v1 one answers.
        if [[ $mon_host =~ v1:([0-9.]+):([0-9]+) ]]; then
            host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
        elif [[ $mon_host =~ ^([0-9.]+):([0-9]+) ]]; then
            host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
        else
            lab_die guest "no v1 monitor address in mon_host '$mon_host' ($conf)"
        fi
        cmdline+=" kvmha_rbd_check=1"
        disk="
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source protocol='rbd' name='$(xml_escape "$rbd")'>
        <host name='$host' port='$port'/>
      </source>
      <auth username='$(xml_escape "$user")'>
        <secret type='ceph' uuid='$(xml_escape "$secret")'/>
      </auth>
      <target dev='vda' bus='virtio'/>
    </disk>"
    fi
    cat <<XML
<domain type='qemu'>
  <name>$(xml_escape "$name")</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$G/vmlinuz</kernel>
    <initrd>$initrd</initrd>
    <cmdline>$(xml_escape "$cmdline")</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>$disk
    <serial type='file'>
      <source path='$(xml_escape "$console")' append='$append'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

case "${1:-}" in
build) build ;;
writer) writer ;;
domain) shift; domain "$@" ;;
*) usage ;;
esac

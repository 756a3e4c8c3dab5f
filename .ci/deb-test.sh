#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package tested on a bare Debian 12: builds build-deb/ (Release, prefix /usr, the
# desktop app, no tests or benchmarks), makes taskfleet_<version>_amd64.deb with `cpack -G DEB`,
# then in a fresh `debootstrap --variant=minbase bookworm` chroot:
#   apt-get install -y ./taskfleet_*.deb   (dependencies from the host's Debian mirror)
#   the programs start, every binary and plugin finds its libraries, the man pages are there,
#   the sum-of-primes jobs give the right sums, the C++ plugin's (sumprimes.json) and the Python one
#   (sum_primes.json), locally and on the installed agent over loopback,
#   a pp client program (tests/deploy/pp_sum_primes.py, `import taskfleet as pp` from the installed
#   package, the chroot's /usr/bin/python3) gets the right sums with local workers, with the
#   installed agent as its ppserver, and from the installed agent dialing its Server(listen=...),
#   the `taskfleet` system user exists, nothing was started or enabled,
#   a reinstall works (the maintainer scripts are idempotent),
#   apt-get purge -y taskfleet   leaves none of the package's files, state or config behind.
# The chroot is unmounted and removed on exit, also on failure.
#
#   bash .ci/deb-test.sh            needs root (debootstrap, chroot, mount)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=$src/build-deb
[ "$(id -u)" -eq 0 ] || { echo "deb-test: needs root (debootstrap, chroot, mount)" >&2; exit 1; }

# ---- timing ---------------------------------------------------------------------------------
t_all=$SECONDS
t_step=$SECONDS
step_name=""
timings=()
step() {   # step NAME: ends the current step (printing its time) and starts the next
    if [ -n "$step_name" ]; then
        local took=$((SECONDS - t_step))
        echo "== deb-test: $step_name: ${took} s"
        timings+=("$(printf '%5d s  %s' "$took" "$step_name")")
    fi
    step_name=$1
    t_step=$SECONDS
    [ -n "$step_name" ] && echo "== deb-test: $step_name"
    return 0
}

tmp=""
root=""          # the chroot
agent_pid=""
mounted=()       # mount points, in mount order

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    [ $rc -ne 0 ] && echo "---- deb-test failed in step: $step_name" >&2
    step "clean up: chroot"
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -TERM "$agent_pid"
        for _ in $(seq 1 20); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$agent_pid" 2>/dev/null && kill -KILL "$agent_pid"
    fi
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || { echo "deb-test: ${mounted[i]} busy: lazy unmount"; umount -l "${mounted[i]}"; }
    done
    echo "deb-test: unmounted after $((SECONDS - t_step)) s"
    if [ -n "$tmp" ] && [ -d "$tmp" ]; then
        if findmnt -rn -o TARGET | grep -qF "$tmp/"; then
            echo "deb-test: something is still mounted under $tmp; not removing it:" >&2
            findmnt -rn -o TARGET | grep -F "$tmp/" >&2
        else
            rm -rf --one-file-system "$tmp"
        fi
    fi
    step ""
    echo "== deb-test: step times"
    printf '%s\n' "${timings[@]}"
    echo "== deb-test: total $((SECONDS - t_all)) s: $([ $rc -eq 0 ] && echo PASSED || echo "FAILED (exit $rc)")"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }
in_root() { chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"; }

# The sum of the primes below n for each input of a job file, computed here independently (a
# sieve in awk), as "input sum" lines; and the check of a results file against them.
expected_sums() {
    tr -c '0-9\n' ' ' < <(sed -n '/"inputs"/,/]/p' "$1") | tr ' ' '\n' | grep -E '^[0-9]+$' |
        awk '{ n[NR] = $1; if ($1 > max) max = $1 }
             END { for (i = 2; i < max; i++) c[i] = 0
                   for (i = 2; i * i < max; i++) if (!c[i]) for (j = i * i; j < max; j += i) c[j] = 1
                   for (k = 1; k <= NR; k++) { s = 0; for (i = 2; i < n[k]; i++) if (!c[i]) s += i
                                               printf "%d %.0f\n", n[k], s } }'
}
check_results() {   # check_results RESULTS JOBFILE WHAT
    local expected got
    expected=$(expected_sums "$2" | sort -n)
    got=$(sed -n 's/.*"input": *\([0-9]*\).*"output": *\([0-9]*\)[,}].*/\1 \2/p' "$1" | sort -n)
    [ "$(wc -l <<<"$expected")" -eq 8 ] || fail "expected 8 inputs in $2"
    if [ "$got" != "$expected" ]; then
        echo "expected (input sum):"; echo "$expected"; echo "got:"; echo "$got"; echo "results:"; cat "$1"
        fail "wrong sums ($3)"
    fi
    echo "deb-test: 8 right sums ($3): $(awk '{printf "%s ", $2}' <<<"$got")"
}

# ---- build and package ----------------------------------------------------------------------
step "packages (build deps, help2man, dpkg-dev, debootstrap)"
bash .ci/install-deps.sh
missing=()
for p in help2man dpkg-dev file debootstrap util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# A prefix for the heavy steps (e.g. "flock /tmp/lock nice -n 10" on a shared workstation); empty in CI.
# (It was a hard-coded flock: inside a run that itself held that lock, the build waited forever.)
TASKFLEET_CI_WRAP=${TASKFLEET_CI_WRAP:-}

step "configure build-deb"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DTASKFLEET_BUILD_GUI=ON -DTASKFLEET_BUILD_TESTS=OFF -DTASKFLEET_BUILD_BENCH=OFF \
    -DTASKFLEET_BUILD_FUZZ=OFF -DTASKFLEET_SANITIZE=OFF -DTASKFLEET_BUILD_MAN=ON >/dev/null

step "build build-deb"
$TASKFLEET_CI_WRAP cmake --build "$build" -j "$(nproc)"

step "cpack -G DEB"
rm -f "$build"/taskfleet_*.deb
(cd "$build" && $TASKFLEET_CI_WRAP cpack -G DEB)
debs=("$build"/taskfleet_*_amd64.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no taskfleet_*_amd64.deb in $build"
deb=${debs[0]}
echo "deb-test: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"
dpkg-deb --field "$deb" Package Version Architecture Section Maintainer Depends Recommends Suggests
contents=$(dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for f in /usr/bin/taskfleet /usr/bin/taskfleet-run /usr/bin/taskfleet-agent /usr/bin/taskfleet-worker \
         /usr/lib/x86_64-linux-gnu/taskfleet/plugins/libtaskfleet_sumprimes.so \
         /usr/include/taskfleet/TaskPlugin.h /usr/lib/x86_64-linux-gnu/cmake/Taskfleet/TaskfleetConfig.cmake \
         /usr/share/applications/taskfleet.desktop /usr/share/icons/hicolor/scalable/apps/taskfleet.svg \
         /usr/share/icons/hicolor/128x128/apps/taskfleet.png /usr/share/taskfleet/jobs/sumprimes.json \
         /usr/share/taskfleet/jobs/sum_primes.json /usr/share/taskfleet/jobs/sum_primes.py \
         /usr/lib/x86_64-linux-gnu/taskfleet/plugins/libtaskfleet_python.so \
         /usr/lib/python3/dist-packages/taskfleet/__init__.py /usr/lib/python3/dist-packages/taskfleet/_server.py \
         /usr/lib/systemd/system/taskfleet-agent.service \
         /usr/share/man/man1/taskfleet.1.gz /usr/share/man/man1/taskfleet-run.1.gz \
         /usr/share/man/man1/taskfleet-agent.1.gz /usr/share/man/man1/taskfleet-worker.1.gz; do
    grep -qxF "$f" <<<"$contents" || fail "the package has no $f"
done
built_plugins=$(cd "$build/plugins" && ls libtaskfleet_*.so | sort)
packaged_plugins=$(grep '/taskfleet/plugins/libtaskfleet_.*\.so$' <<<"$contents" | sed 's|.*/||' | sort)
[ "$packaged_plugins" = "$built_plugins" ] && [ -n "$built_plugins" ] ||
    fail "the package's plugins ($(echo $packaged_plugins)) are not the built ones ($(echo $built_plugins))"
echo "deb-test: plugins: $(echo $packaged_plugins)"
dpkg-deb --field "$deb" Depends | grep -q libqt6core6 || fail "Depends: computed without libqt6core6"
dpkg-deb --field "$deb" Depends | grep -q libpython3.11 || fail "Depends: computed without libpython3.11 (the python plugin)"
# Whether the package itself asks for the interpreter (pp programs run on /usr/bin/python3), and how.
for field in Depends Recommends; do
    if dpkg-deb --field "$deb" "$field" | tr ',' '\n' | grep -qE '^ *python3( |$)'; then
        echo "deb-test: $field: names python3"
    else
        echo "deb-test: $field: does not name python3"
    fi
done

# ---- a bare Debian 12 -----------------------------------------------------------------------
step "chroot: debootstrap minbase bookworm (cached), mounts"
tmp=$(mktemp -d /var/tmp/tf-deb.XXXXXX)
root=$tmp/root
bash .ci/debian-rootfs.sh >/dev/null
bash .ci/debian-rootfs.sh --extract "$root"
install -m 0644 /etc/resolv.conf "$root/etc/resolv.conf"
# The root bound onto itself (a mount point, as `ip netns` and mount --make-private want), /proc, /dev.
mount --bind "$root" "$root" && mounted+=("$root")
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
in_root sh -c 'dpkg-query -W -f "\${Package}\n" | wc -l' | sed 's/^/deb-test: packages in the bare chroot: /'

step "chroot: apt-get install -y ./$(basename "$deb")"
cp "$deb" "$root/tmp/"
in_root apt-get update -q >/dev/null
# Where the interpreter comes from (pp programs run on /usr/bin/python3; the python plugin and the
# worker need only libpython3.11 and its standard library): a dry run without the recommends.
in_root sh -c "cd /tmp && apt-get install -s -q --no-install-recommends ./$(basename "$deb")" >"$tmp/dry-run.log" 2>&1 ||
    { cat "$tmp/dry-run.log"; fail "apt-get install -s --no-install-recommends failed"; }
grep -q '^Inst taskfleet ' "$tmp/dry-run.log" || { cat "$tmp/dry-run.log"; fail "the dry run does not install taskfleet"; }
python3_without_recommends=no
grep -q '^Inst python3 ' "$tmp/dry-run.log" && python3_without_recommends=yes
echo "deb-test: apt-get install --no-install-recommends would install python3: $python3_without_recommends"
in_root sh -c "cd /tmp && apt-get install -y -q ./$(basename "$deb")" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "apt-get install failed"; }
tail -3 "$tmp/install.log"
in_root dpkg-query -W -f '${Status} ${Version}\n' taskfleet | grep -q "install ok installed" || fail "taskfleet is not installed"

step "chroot: programs, libraries, man pages, user, nothing started"
in_root taskfleet-agent --help >"$tmp/agent-help.txt" || fail "taskfleet-agent --help failed"
head -1 "$tmp/agent-help.txt"
in_root taskfleet-run --version
install -d -m 0700 "$root/tmp/runtime"
in_root env QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp/runtime taskfleet --version || fail "the desktop app does not start"
for f in "$root"/usr/bin/taskfleet* "$root"/usr/lib/x86_64-linux-gnu/taskfleet/plugins/*.so; do
    f=${f#"$root"}
    if in_root ldd "$f" | grep -q "not found"; then
        in_root ldd "$f"
        fail "$f misses a library (Depends: incomplete)"
    fi
done
for p in taskfleet taskfleet-run taskfleet-agent taskfleet-worker; do
    [ -s "$root/usr/share/man/man1/$p.1.gz" ] || fail "no man page $p.1.gz"
    zcat "$root/usr/share/man/man1/$p.1.gz" | grep -q '^\.TH' || fail "$p.1.gz is not a man page"
done
if in_root sh -c 'command -v man' >/dev/null; then
    in_root man -w taskfleet-run
fi
in_root getent passwd taskfleet || fail "no taskfleet user"
uid=$(in_root id -u taskfleet)
[ "$uid" -lt 1000 ] || fail "taskfleet is not a system user (uid $uid)"
in_root getent passwd taskfleet | grep -q ':/usr/sbin/nologin$' || fail "taskfleet has a login shell"
[ "$(in_root stat -c '%a %U %G' /etc/taskfleet)" = "750 root taskfleet" ] || fail "/etc/taskfleet is not 0750 root:taskfleet"
[ -f "$root/usr/lib/systemd/system/taskfleet-agent.service" ] || fail "no systemd unit"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/taskfleet-agent.service" ] || fail "the unit was enabled"
[ ! -e "$root/var/lib/taskfleet-agent" ] || fail "/var/lib/taskfleet-agent exists: something ran the agent"
for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then
        fail "a process runs in the chroot after install: $(tr '\0' ' ' <"$p/cmdline")"
    fi
done
echo "deb-test: user taskfleet (uid $uid, nologin), unit installed, not enabled, no process started"

jobs=(/usr/share/taskfleet/jobs/sumprimes.json /usr/share/taskfleet/jobs/sum_primes.json)   # C++ plugin, Python
step "chroot: sum-of-primes jobs (C++, Python), local workers"
for job in "${jobs[@]}"; do
    name=$(basename "$job" .json)
    in_root timeout 300 taskfleet-run -n 2 --no-journal -o "/tmp/local-$name.jsonl" "$job" ||
        { cat "$root/tmp/local-$name.jsonl" 2>/dev/null; fail "taskfleet-run -n 2 $job failed"; }
    check_results "$root/tmp/local-$name.jsonl" "$root$job" "$name.json, installed taskfleet-run, 2 local workers"
done

# ---- pp client programs: the installed package, the chroot's python3 -------------------------
step "chroot: python3 for pp programs"
# The package Depends on libpython3.11 (the python plugin); the interpreter a pp program runs on
# comes with its Recommends (python3-numpy, python3-cloudpickle depend on python3), which apt
# installs by default. Whatever brought it, a user running a pp program has python3: install it if absent.
if in_root sh -c 'command -v python3' >/dev/null; then
    if [ "$python3_without_recommends" = yes ]; then
        echo "deb-test: python3 came with the package's dependencies: $(in_root python3 --version)"
    else
        echo "deb-test: python3 came with the package's recommends only: $(in_root python3 --version)"
    fi
    in_root dpkg-query -W -f '${Package} ${Version}\n' python3 python3-numpy python3-cloudpickle 2>/dev/null | sed 's/^/deb-test:   /'
else
    echo "deb-test: the package brought no python3: apt-get install -y python3"
    in_root apt-get install -y -q python3 >"$tmp/python3.log" 2>&1 || { cat "$tmp/python3.log"; fail "apt-get install python3 failed"; }
    in_root python3 --version
fi
install -m 0755 tests/deploy/pp_sum_primes.py "$root/tmp/pp_sum_primes.py"
pp_prog() {   # pp_prog ARGS...: the pp program on the chroot's python3 and the installed taskfleet package
    echo "+ python3 pp_sum_primes.py $*"
    in_root timeout 300 /usr/bin/python3 /tmp/pp_sum_primes.py \
        --expect-package /usr/lib/python3/dist-packages/taskfleet "$@"
}
no_process_in_root() {   # no_process_in_root AFTER: nothing runs in the chroot any more
    local p i
    for i in $(seq 1 20); do
        local left=""
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && left+="${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null); "
        done
        [ -z "$left" ] && return 0
        sleep 0.25
    done
    fail "processes left in the chroot after $1: $left"
}

step "chroot: pp program, local workers (Server(ncpus=2))"
pp_prog --ncpus 2 || fail "the pp program with local workers failed"
no_process_in_root "the pp program (local workers)"

step "chroot: sum-of-primes jobs (C++, Python) and a pp program on the installed agent (127.0.0.1)"
(umask 077; head -c 32 /dev/urandom | base64 >"$root/tmp/secret")
chroot "$root" env -i HOME=/root PATH=/usr/bin:/bin taskfleet-agent -i 127.0.0.1 -p 0 -w 2 \
    --no-discovery --secret-file /tmp/secret --state-dir /tmp/agent-state -t 120 \
    >"$tmp/agent.log" 2>&1 &
agent_pid=$!
port=""
for _ in $(seq 1 60); do
    port=$(sed -n 's/.*taskfleet-agent listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/agent.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$agent_pid" 2>/dev/null || { cat "$tmp/agent.log"; fail "the installed agent exited"; }
    sleep 0.5
done
[ -n "$port" ] || { cat "$tmp/agent.log"; fail "the installed agent did not listen within 30 s"; }
grep "listening on" "$tmp/agent.log"
for job in "${jobs[@]}"; do
    name=$(basename "$job" .json)
    in_root timeout 300 taskfleet-run -n 0 --node "127.0.0.1:$port" --secret-file /tmp/secret --no-journal \
        -o "/tmp/agent-$name.jsonl" "$job" ||
        { cat "$tmp/agent.log"; fail "the job $job on the installed agent failed"; }
    check_results "$root/tmp/agent-$name.jsonl" "$root$job" "$name.json, installed taskfleet-agent on 127.0.0.1:$port"
done
pp_prog --ppservers "127.0.0.1:$port" --secret-file /tmp/secret ||
    { cat "$tmp/agent.log"; fail "the pp program on the installed agent failed"; }
kill -TERM "$agent_pid"
for _ in $(seq 1 40); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$agent_pid" 2>/dev/null && fail "the agent did not stop on SIGTERM within 10 s"
wait "$agent_pid" || true
agent_pid=""
no_process_in_root "the agent's SIGTERM"

step "chroot: pp program, the installed agent dials it (Server(listen=...), --connect, --no-listen)"
pp_prog --listen-agent /usr/bin/taskfleet-agent --agent-state-dir /tmp/dial-agent-state --agent-workers 2 \
    --secret-file /tmp/secret || fail "the pp program with a dialing agent failed"
no_process_in_root "the pp program and its dialing agent"

step "chroot: reinstall (maintainer scripts run again)"
in_root sh -c "cd /tmp && apt-get install -y -q --reinstall ./$(basename "$deb")" >"$tmp/reinstall.log" 2>&1 ||
    { cat "$tmp/reinstall.log"; fail "apt-get install --reinstall failed"; }
[ "$(in_root id -u taskfleet)" = "$uid" ] || fail "the reinstall changed the taskfleet user"

step "chroot: apt-get purge -y taskfleet"
files=$(in_root dpkg-query -L taskfleet)
mkdir -p "$root/var/lib/taskfleet-agent/plugins"     # state as a started agent leaves it
echo "node-id=x" >"$root/var/lib/taskfleet-agent/agent.ini"
in_root apt-get purge -y -q taskfleet >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; fail "apt-get purge failed"; }
tail -2 "$tmp/purge.log"
in_root dpkg-query -W -f '${Status}\n' taskfleet 2>/dev/null | grep -q "install ok" && fail "taskfleet is still installed"
left=0
while read -r f; do
    [ -n "$f" ] || continue
    if [ -e "$root$f" ] && [ ! -d "$root$f" ]; then echo "left behind: $f"; left=1; fi
done <<<"$files"
[ $left -eq 0 ] || fail "purge left files of the package"
[ ! -e "$root/usr/share/taskfleet" ] || fail "purge left /usr/share/taskfleet"
[ ! -e "$root/usr/lib/x86_64-linux-gnu/taskfleet" ] || fail "purge left the plugin folder"
[ ! -e "$root/var/lib/taskfleet-agent" ] || fail "purge left /var/lib/taskfleet-agent"
[ ! -e "$root/etc/taskfleet" ] || fail "purge left /etc/taskfleet"
in_root getent passwd taskfleet >/dev/null || fail "purge removed the taskfleet system user (Debian keeps it)"
# The pp programs above ran as root, so python3 wrote __pycache__/*.pyc into the installed package,
# files dpkg does not know: the prerm removes them, so nothing may be left.
if [ -e "$root/usr/lib/python3/dist-packages/taskfleet" ]; then
    echo "left: $(cd "$root/usr/lib/python3/dist-packages/taskfleet" && find . | sort | head -5 | tr '\n' ' ')"
    fail "purge left /usr/lib/python3/dist-packages/taskfleet"
fi
echo "deb-test: purged: no file of the package left, state and /etc/taskfleet gone, system user kept"

step ""
exit 0

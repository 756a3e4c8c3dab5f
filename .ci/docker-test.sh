#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The container files tested for real, on this machine, with no image registry:
#   1. a private Docker engine (dockerd, started here and stopped here by its pid),
#   2. the Debian 12 base images made offline (debootstrap + docker import),
#   3. resources/docker/Dockerfile built, the swarm stack resources/docker/taskfleet-stack.yml
#      deployed, and the sum-of-primes jobs (the C++ plugin and the Python one) run against the agent in the container,
#      then a pp client program on this host (tests/deploy/pp_sum_primes.py: `import taskfleet as pp`,
#      Server(ncpus=0, ppservers=("127.0.0.1:45450",), secret=...)) against it,
#   4. the `docker run` recipe of docs/deploy.md, and the same jobs and pp program against it,
# then everything it made is removed: stack, swarm, containers, engine, bridges, temp folder.
#
#   bash .ci/docker-test.sh [BUILD_DIR]     BUILD_DIR (default build) holds an already built bin/taskfleet-run,
#                                           bin/taskfleet-worker and plugins/ (the pp program's engine)
#
# The docker commands of steps 3 and 4 are those shown in docs/deploy.md; the script checks that
# each one is there verbatim before running it. Needs root. Network: loopback and the host's own
# Debian mirror only (image builds run apt-get with --network host).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
run_bin=$build/bin/taskfleet-run
worker_bin=$build/bin/taskfleet-worker
for f in "$run_bin" "$worker_bin"; do
    [ -x "$f" ] || { echo "docker-test: $f not found: build first (cmake --build $build)" >&2; exit 1; }
done
[ -f "$build/plugins/libtaskfleet_python.so" ] ||
    { echo "docker-test: $build/plugins/libtaskfleet_python.so not found: build first (cmake --build $build)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "docker-test: needs root (dockerd, debootstrap)" >&2; exit 1; }

stack=taskfleet
service=${stack}_agent
container=taskfleet-agent
image=taskfleet-agent

# ---- timing ---------------------------------------------------------------------------------
t_all=$SECONDS
t_step=$SECONDS
step_name=""
timings=()
step() {   # step NAME: ends the current step (printing its time) and starts the next
    if [ -n "$step_name" ]; then
        local took=$((SECONDS - t_step))
        echo "== docker-test: $step_name: ${took} s"
        timings+=("$(printf '%5d s  %s' "$took" "$step_name")")
    fi
    step_name=$1
    t_step=$SECONDS
    [ -n "$step_name" ] && echo "== docker-test: $step_name"
    return 0
}

# ---- state for cleanup ----------------------------------------------------------------------
tmp=""
dockerd_pid=""
containerd_pid=""
bridges_before=" $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | tr '\n' ' ') "
failed_step=""

diagnostics() {
    echo "---- docker-test failed in step: ${failed_step:-?} ----" >&2
    if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
        echo "---- docker service ps $service" >&2
        timeout 20 docker service ps --no-trunc "$service" >&2 2>&1 || true
        echo "---- docker service logs $service" >&2
        timeout 20 docker service logs --raw "$service" 2>&1 | tail -100 >&2 || true
        echo "---- docker ps -a" >&2
        timeout 20 docker ps -a >&2 2>&1 || true
        echo "---- docker logs $container" >&2
        timeout 20 docker logs "$container" 2>&1 | tail -100 >&2 || true
    fi
    if [ -n "$tmp" ] && [ -f "$tmp/dockerd.log" ]; then
        echo "---- dockerd.log (last 40 lines)" >&2
        tail -40 "$tmp/dockerd.log" >&2
    fi
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [ $rc -ne 0 ]; then
        failed_step=$step_name
        diagnostics
    fi
    step "clean up: stack, swarm, containers, dockerd, bridges"
    if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
        timeout 30 docker rm -f "$container" >/dev/null 2>&1
        timeout 30 docker stack rm "$stack" >/dev/null 2>&1
        timeout 30 docker swarm leave --force >/dev/null 2>&1
        echo "docker-test: stopping dockerd (pid $dockerd_pid) after $((SECONDS - t_step)) s"
        kill -TERM "$dockerd_pid" 2>/dev/null
        local i
        for i in $(seq 1 60); do
            kill -0 "$dockerd_pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$dockerd_pid" 2>/dev/null; then
            echo "docker-test: dockerd (pid $dockerd_pid) did not stop in 30 s: SIGKILL" >&2
            kill -KILL "$dockerd_pid" 2>/dev/null
        fi
        wait "$dockerd_pid" 2>/dev/null
        echo "docker-test: dockerd stopped after $((SECONDS - t_step)) s"
    fi
    # containerd is dockerd's child and stops with it; if dockerd was killed, stop it by its pid.
    if [ -n "$containerd_pid" ] && kill -0 "$containerd_pid" 2>/dev/null; then
        kill -TERM "$containerd_pid" 2>/dev/null
        sleep 2
        kill -0 "$containerd_pid" 2>/dev/null && kill -KILL "$containerd_pid" 2>/dev/null
    fi
    # Bridges this run made (docker0, docker_gwbridge); a bridge that was there before is left alone.
    local br
    for br in docker0 docker_gwbridge; do
        if [[ "$bridges_before" != *" $br "* ]] && ip link show "$br" >/dev/null 2>&1; then
            ip link delete "$br" && echo "docker-test: deleted bridge $br"
        fi
    done
    if [ -n "$tmp" ] && [ -d "$tmp" ]; then
        # Mounts the engine left under its own folders (only after an unclean stop), innermost first.
        findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r m; do umount -l "$m"; done
        rm -rf --one-file-system "$tmp"
    fi
    step ""
    echo "== docker-test: step times"
    printf '%s\n' "${timings[@]}"
    echo "== docker-test: total $((SECONDS - t_all)) s: $([ $rc -eq 0 ] && echo PASSED || echo "FAILED (exit $rc)")"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "docker-test: FAILED: $*" >&2; exit 1; }

# doc_run LINE [PREFIX]: runs one line of docs/deploy.md's container recipes (after PREFIX, e.g.
# the CPU lock), after checking that the line is there verbatim.
doc_run() {
    local line=$1 prefix=${2:-}
    grep -qxF -- "$line" docs/deploy.md || fail "not in docs/deploy.md verbatim: $line"
    echo "+ $line"
    eval "$prefix $line"
}

# Expected output of the sumprimes plugin for each input of a job file: the sum of the primes
# below n, computed here independently (a sieve in awk). Prints "input sum" lines.
expected_sums() {
    tr -c '0-9\n' ' ' < <(sed -n '/"inputs"/,/]/p' "$1") | tr ' ' '\n' | grep -E '^[0-9]+$' |
        awk '{ n[NR] = $1; if ($1 > max) max = $1 }
             END { for (i = 2; i < max; i++) c[i] = 0
                   for (i = 2; i * i < max; i++) if (!c[i]) for (j = i * i; j < max; j += i) c[j] = 1
                   for (k = 1; k <= NR; k++) { s = 0; for (i = 2; i < n[k]; i++) if (!c[i]) s += i
                                               printf "%d %.0f\n", n[k], s } }'
}

# check_results FILE JOB: every input of the job has one result line, with the right sum.
check_results() {
    local results=$1 job=$2 expected got
    expected=$(expected_sums "$job" | sort -n)
    got=$(sed -n 's/.*"input": *\([0-9]*\).*"output": *\([0-9]*\)[,}].*/\1 \2/p' "$results" | sort -n)
    [ "$(wc -l <<<"$expected")" -eq 8 ] || fail "expected 8 inputs in $job"
    if [ "$got" != "$expected" ]; then
        echo "expected (input sum):"; echo "$expected"; echo "got:"; echo "$got"; echo "results file:"; cat "$results"
        fail "wrong results from the agent in the container"
    fi
    echo "docker-test: 8 right sums: $(awk '{printf "%s ", $2}' <<<"$got")"
}

# run_job NAME: the sum-of-primes jobs on the agent at 127.0.0.1:45450 only (-n 0: no local workers):
# the C++ plugin's, then Parallel Python's demo in Python (the python plugin, the image's interpreter);
# then a pp client program on this host (the checkout's taskfleet package, this build's engine, the
# host's /usr/bin/python3) with that agent as its only ppserver; it checks each sum against a sieve.
run_job() {
    local job rc
    for job in resources/jobs/sumprimes.json resources/jobs/sum_primes.json; do
        local out=$tmp/$1-$(basename "$job" .json).jsonl
        echo "+ taskfleet-run -n 0 --node 127.0.0.1:45450 --secret-file \"\$secret\" $job"
        rc=0
        timeout 180 "$run_bin" -n 0 --node 127.0.0.1:45450 --secret-file "$secret" --no-journal \
            -o "$out" "$job" || rc=$?
        [ $rc -eq 0 ] || { cat "$out" 2>/dev/null; fail "taskfleet-run exited $rc on $job (0 = every task succeeded)"; }
        check_results "$out" "$job"
    done
    echo "+ python3 tests/deploy/pp_sum_primes.py --ppservers 127.0.0.1:45450 --secret-file \"\$secret\""
    rc=0
    PYTHONPATH=$src/python TASKFLEET_RUN=$run_bin TASKFLEET_WORKER=$worker_bin TASKFLEET_PLUGIN_PATH=$build/plugins \
        timeout 300 /usr/bin/python3 tests/deploy/pp_sum_primes.py --expect-package "$src/python/taskfleet" \
        --ppservers 127.0.0.1:45450 --secret-file "$secret" || rc=$?
    [ $rc -eq 0 ] || fail "the pp program against the agent in the container exited $rc"
}

# wait_for_agent WHAT LOGCMD...: until LOGCMD prints the agent's "listening on" line (at most 120 s).
wait_for_agent() {
    local what=$1 i
    shift
    for i in $(seq 1 120); do
        if timeout 10 "$@" 2>&1 | grep -q "taskfleet-agent listening on"; then
            timeout 10 "$@" 2>&1 | grep "taskfleet-agent listening on" | head -1
            return 0
        fi
        sleep 1
    done
    fail "the agent ($what) did not start listening within 120 s"
}

# ---- 1. packages ----------------------------------------------------------------------------
step "packages (docker.io, debootstrap)"
missing=()
for p in docker.io debootstrap iproute2 util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- 2. a private engine --------------------------------------------------------------------
step "start dockerd"
tmp=$(mktemp -d /var/tmp/tf-docker.XXXXXX)
chmod 0755 "$tmp"
# Lightest form that works here: no iptables rules and no IP forwarding (nothing leaves the
# machine; published ports reach the containers through docker-proxy), its own data and exec
# folders and socket, so a system engine (if any) is neither used nor touched. nice: the image
# build runs under it, and this machine has 2 cores.
nice -n 10 dockerd --iptables=false --ip-forward=false \
    --data-root "$tmp/data" --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" \
    --host "unix://$tmp/docker.sock" >"$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST=unix://$tmp/docker.sock
for i in $(seq 1 60); do
    kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited at start"
    timeout 5 docker version >/dev/null 2>&1 && break
    [ "$i" -lt 60 ] || fail "dockerd did not answer within 30 s"
    sleep 0.5
done
containerd_pid=$(pgrep -P "$dockerd_pid" -x containerd | head -1 || true)
echo "dockerd pid $dockerd_pid (containerd pid ${containerd_pid:-?}), engine $(docker version -f '{{.Server.Version}}')"

# ---- 3. offline base images -----------------------------------------------------------------
step "base images debian:12, debian:12-slim (debootstrap, docker import)"
bash .ci/debian-rootfs.sh >/dev/null             # makes the cached tarball if there is none
bash .ci/debian-rootfs.sh --extract "$tmp/rootfs"   # + the host's apt sources and Acquire:: config
tar --numeric-owner -C "$tmp/rootfs" -c . | docker import - debian:12 >/dev/null
docker tag debian:12 debian:12-slim
rm -rf --one-file-system "$tmp/rootfs"
docker image ls debian

# The cluster secret: a root-owned 0600 file on the host, as an admin keeps it.
secret=$tmp/secret
(umask 077; head -c 32 /dev/urandom | base64 >"$secret")

# ---- 4. image, swarm, stack, job ------------------------------------------------------------
step "docker build (resources/docker/Dockerfile)"
# TASKFLEET_CI_WRAP (see deb-test.sh) prefixes the build on a shared workstation; empty in CI. The
# build's output goes to a file, and its end to the log if it fails.
if ! doc_run 'docker build --network host -f resources/docker/Dockerfile -t taskfleet-agent .' \
        "${TASKFLEET_CI_WRAP:-}" >"$tmp/docker-build.log" 2>&1; then
    tail -60 "$tmp/docker-build.log"
    fail "docker build failed"
fi
grep -E '^\+ |^Step |^Successfully' "$tmp/docker-build.log"

docker image ls "$image"

step "swarm init, secret, stack deploy"
doc_run 'docker swarm init --advertise-addr 127.0.0.1'
doc_run 'docker secret create taskfleet_secret "$secret"'
doc_run 'DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 docker stack deploy --resolve-image never -c resources/docker/taskfleet-stack.yml taskfleet'

step "wait for the agent in the swarm service"
wait_for_agent "swarm service $service" docker service logs --raw "$service"
doc_run 'docker service ps taskfleet_agent'

step "sum-of-primes jobs and a pp program against the swarm service (127.0.0.1:45450)"
run_job swarm

step "stack rm, swarm leave"
doc_run 'docker stack rm taskfleet'
# Port 45450 must be free for the docker run recipe: wait (bounded) for the task's container to go.
for i in $(seq 1 60); do
    [ -z "$(docker ps -q --filter "label=com.docker.stack.namespace=$stack")" ] && break
    [ "$i" -lt 60 ] || fail "the stack's containers were still there 60 s after docker stack rm"
    sleep 1
done
docker swarm leave --force

# ---- 5. the docker run recipe ---------------------------------------------------------------
step "docker run recipe (docs/deploy.md)"
# First what docs/deploy.md warns about: the root-owned 0600 secret mounted as it is cannot be
# read by the container's user, and the agent says so and stops (no network: nothing to send).
rc=0
timeout 60 docker run --rm --network none -v "$secret:/run/secrets/taskfleet_secret:ro" "$image" \
    --no-discovery >"$tmp/unreadable.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "cannot read secret file /run/secrets/taskfleet_secret" "$tmp/unreadable.log" ||
    { cat "$tmp/unreadable.log"; fail "an unreadable secret: expected the agent to stop with 'cannot read secret file' (exit $rc)"; }
echo "docker-test: a root-owned 0600 secret as it is: $(grep -m1 'cannot read secret file' "$tmp/unreadable.log")"
doc_run 'install -m 0400 -o 10001 -g 10001 "$secret" "$secret.uid10001"'
# As in docs/deploy.md, plus --no-discovery: with --network host the agent's discovery
# broadcasts would go out on the host's LAN, and a test here sends nothing beyond this machine.
recipe='docker run -d --name taskfleet-agent --network host -v "$secret.uid10001:/run/secrets/taskfleet_secret:ro" taskfleet-agent'
grep -qxF -- "$recipe" docs/deploy.md || fail "not in docs/deploy.md verbatim: $recipe"
echo "+ $recipe --no-discovery"
eval "$recipe --no-discovery" >/dev/null
wait_for_agent "docker run container $container" docker logs "$container"
[ "$(docker inspect -f '{{.Config.User}}' "$container")" = taskfleet ] || fail "the container does not run as user taskfleet"

step "sum-of-primes jobs and a pp program against the docker run container (127.0.0.1:45450)"
run_job docker-run
docker rm -f "$container" >/dev/null

step ""
exit 0

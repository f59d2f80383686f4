#!/bin/sh
# Runs the image's command ("$@") as PID 1 of a new PID namespace, as `docker run`
# does (buildah's chroot isolation shares the host's PID namespace, and only a user
# namespace lets a non-root user make one), sends that PID 1 SIGTERM as `docker stop`
# does, and prints one line per fact (verify keeps the last 20 lines of output).
rm -f /tmp/ready /tmp/sigterm
unshare --user --map-root-user --pid --fork "$@" >/tmp/app.log 2>&1 &
outer=$!
i=0
while [ ! -f /tmp/ready ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -f /tmp/ready ]; then echo "the app did not start"; tail -5 /tmp/app.log; exit 1; fi
pid1=$(cat "/proc/$outer/task/$outer/children")
pid1=${pid1%% *}
echo "pid1: $(tr '\0' ' ' <"/proc/$pid1/cmdline")"
grep NSpid "/proc/$pid1/status"
kill -TERM "$pid1"
i=0
while [ -d "/proc/$pid1" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if [ -d "/proc/$pid1" ]; then
    echo "still running 3 s after SIGTERM"
    kill -KILL "$pid1"
else
    echo "stopped within 3 s of SIGTERM"
fi
if [ -f /tmp/sigterm ]; then echo "app: $(cat /tmp/sigterm)"; else echo "app: no SIGTERM handled"; fi

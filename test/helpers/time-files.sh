#!/usr/bin/env bash
# Times every compiled test file on its own: uvu runs all files in one process and prints no per-file time.
# Run from the worktree root after a build, under `nice -n 10`, and note `uptime` beside it (the machine is shared):
#   nice -n 10 test/helpers/time-files.sh /tmp/times.tsv [regex on the path under dist/test] [regex to leave out]
# Writes "file<TAB>wall s<TAB>CPU s<TAB>exit code" lines, each file's uvu output beside OUT as OUT.d/<file>.txt.
# CPU is user+sys of the file's process and every child it waited for (agents, mosquitto, python helpers): it
# barely moves with the machine's load, where the wall time of a file that sleeps or waits on sockets does.
# Wall well above CPU: the file waits in real time; wall about CPU: a simulator run, bound by the processor.
set -u
out=$1
only=${2:-.}
skip=${3:-^$}
logs="$out.d"
mkdir -p "$logs"
: >"$out"
if [ ! -x /usr/bin/time ]; then
  echo "needs /usr/bin/time (Debian: apt-get install time) for each file's CPU time" >&2
  exit 2
fi
for f in $(cd dist/test && find . -name '*.test.js' | sed 's|^\./||' | sort | grep -E "$only" | grep -Ev "$skip"); do
  pattern="^$(printf '%s' "$f" | sed 's/[.]/\\./g')\$"
  log="$logs/$(printf '%s' "$f" | tr / _).txt"
  usage="$log.time"
  /usr/bin/time -o "$usage" -f '%e %U %S' \
    node --import ./dist/test/helpers/no-unhandled.js node_modules/uvu/bin.js dist/test "$pattern" >"$log" 2>&1
  rc=$?
  # /usr/bin/time writes "Command exited with non-zero status N" first when the file failed: the last line counts.
  read -r wall user sys < <(tail -n 1 "$usage")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  printf '%s\t%s\t%s\t%d\n' "$f" "$wall" "$cpu" "$rc" | tee -a "$out"
done

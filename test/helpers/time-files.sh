#!/usr/bin/env bash
# Times every compiled test file on its own: uvu runs all files in one process and prints no per-file time.
# Run from the worktree root after a build, under `nice -n 10`, and note `uptime` beside it (the machine is shared):
#   nice -n 10 test/helpers/time-files.sh /tmp/times.tsv [regex on the path under dist/test]
# Writes "file<TAB>seconds<TAB>exit code" lines, each file's uvu output beside OUT as OUT.d/<file>.txt.
set -u
out=$1
only=${2:-.}
logs="$out.d"
mkdir -p "$logs"
: >"$out"
for f in $(cd dist/test && find . -name '*.test.js' | sed 's|^\./||' | sort | grep -E "$only"); do
  pattern="^$(printf '%s' "$f" | sed 's/[.]/\\./g')\$"
  log="$logs/$(printf '%s' "$f" | tr / _).txt"
  start=$(date +%s%N)
  node --import ./dist/test/helpers/no-unhandled.js node_modules/uvu/bin.js dist/test "$pattern" >"$log" 2>&1
  rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  printf '%s\t%d.%d\t%d\n' "$f" $((ms / 1000)) $((ms % 1000 / 100)) "$rc" | tee -a "$out"
done

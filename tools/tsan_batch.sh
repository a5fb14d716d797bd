#!/bin/sh
# ThreadSanitizer over threaded batched-tape replays (csrc/batch/batch_run.c,
# batch_pool.c): the extension built with -fsanitize=thread into a scratch
# copy of the package (the in-place build is left alone), the interpreter,
# which is not instrumented, run with libtsan preloaded (as `make asan`
# preloads libasan), over tools/tsan_replay.py. Exit status 0: no race
# reported. Usage: sh tools/tsan_batch.sh   (from anywhere; PYTHON=... to pick)
set -e
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
# the interpreter itself: a launcher script (pyenv's shim) would run with
# libtsan preloaded too, and crash
PYEXE=$("$PYTHON" -c "import sys; print(sys.executable)")
OUT=${TMPDIR:-/tmp}/micrograd_fast_tsan
rm -rf "$OUT"
mkdir -p "$OUT"
cp -r micrograd_fast "$OUT/"
rm -f "$OUT"/micrograd_fast/*.so
CFLAGS="-fsanitize=thread" LDFLAGS="-fsanitize=thread" \
    "$PYTHON" setup.py -q build_ext -b "$OUT" -t "$OUT/build" --force >"$OUT/build.log" 2>&1 \
    || { cat "$OUT/build.log"; exit 1; }
LD_PRELOAD=$(gcc -print-file-name=libtsan.so) \
TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0" \
PYTHONPATH="$OUT" "$PYEXE" tools/tsan_replay.py

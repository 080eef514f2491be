#!/usr/bin/env bash
# make fuzz: libFuzzer on the HTTP request parser. The first input bytes choose limits and
# where the rest is split into reads, so resumable parsing is exercised; every input is also
# parsed in one piece and the two results must agree.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
swift build --scratch-path .build/fuzz -c release --product AtriumParserFuzz \
  --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
mkdir -p .build/fuzz/corpus
# The corpus grows across runs in .build/fuzz/corpus; fuzz/seeds holds a few hand-made
# requests (chunked, pipelined, 100-continue, absolute-form) so a fresh run starts deep.
SWIFT_BACKTRACE=enable=no .build/fuzz/release/AtriumParserFuzz -max_total_time="$seconds" \
  -dict=fuzz/http.dict -print_final_stats=1 .build/fuzz/corpus fuzz/seeds

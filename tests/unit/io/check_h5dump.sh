#!/bin/sh
# check_h5dump.sh H5DUMP DIR -- the fixture corpus and checkpoint are readable by h5dump and
# print their root attributes (format, version, tokenizer, dtype, counts) as documented.
set -u
h5dump="$1"; dir="$2"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$h5dump" -A "$dir/corpus_byte.h5") || fail "h5dump -A corpus_byte.h5 exited with an error"
# value of attribute $1 in $out: the "(0): ..." line that follows ATTRIBUTE "$1"
attr() { printf '%s\n' "$out" | awk -v name="ATTRIBUTE \"$1\"" 'index($0, name) {found=1} found && /\(0\):/ {sub(/^ *\(0\): */, ""); print; exit}'; }
[ "$(attr format)" = '"plinth-corpus"' ] || fail "format is '$(attr format)'"
[ "$(attr format_version)" = "1" ] || fail "format_version is '$(attr format_version)'"
[ "$(attr tokenizer)" = '"byte"' ] || fail "tokenizer is '$(attr tokenizer)'"
[ "$(attr dtype)" = '"uint16"' ] || fail "dtype is '$(attr dtype)'"
[ "$(attr vocab_size)" = "256" ] || fail "vocab_size is '$(attr vocab_size)'"
[ "$(attr source_digest_algorithm)" = '"fnv1a64"' ] || fail "source_digest_algorithm"
for a in eod_token n_docs_train n_docs_val n_tokens_train n_tokens_val val_fraction seed source_digest source_files created_by; do
  [ -n "$(attr $a)" ] || fail "attribute $a missing"
done
"$h5dump" -H "$dir/corpus_byte.h5" | grep -q 'DATASET "tokens"' || fail "no tokens dataset in h5dump -H"
"$h5dump" -H "$dir/corpus_byte.h5" | grep -q 'H5T_STD_U16LE' || fail "tokens are not H5T_STD_U16LE"

out=$("$h5dump" -A "$dir/ckpt/step_00000007/index.h5") || fail "h5dump -A index.h5 exited with an error"
[ "$(attr format)" = '"plinth-checkpoint"' ] || fail "checkpoint format is '$(attr format)'"
[ "$(attr step)" = "7" ] || fail "checkpoint step is '$(attr step)'"
# the virtual dataset reads whole through the index, from the shard file beside it
(cd / && "$h5dump" -d /model/embed.weight "$dir/ckpt/step_00000007/index.h5") | grep -q -- '-0.75' \
  || fail "h5dump could not read model/embed.weight through the index"
echo "h5dump: attributes print as documented"

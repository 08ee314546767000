#!/bin/sh
# Hand cases for bench/ner_dictionary_baseline.sh; the expected tags are worked by hand from the
# CoNLL baseline's definition (see that script's header), not copied from its output.
#   bench/ner_dictionary_baseline.test.sh     (prints "ok: N cases" and exits 0, or the diff and 1)
set -eu
cd "$(dirname "$0")"
B=./ner_dictionary_baseline.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
check() {  # name expected-file actual-file
  if cmp -s "$2" "$3"; then :; else echo "FAIL: $1"; diff "$2" "$3" || true; fails=$((fails + 1)); fi
}

# 1. CoNLL: longest match first, the type a phrase always had, ambiguous phrases never tagged, an
#    entity starting with I- (IOB1 style) still an entity, IOBES and BILOU entities read, comments,
#    -DOCSTART- and whitespace-only separators, "#hashtag" lines as words, several columns (tag last).
printf '%s\n' '-DOCSTART- -X- O O' '' '# sent_id = 1' \
  'New NNP B-LOC' 'York NNP I-LOC' 'City NNP I-LOC' 'is VBZ O' 'big JJ O' '	' \
  'New	B-ORG' 'York	I-ORG' 'Times	O' \
  '' 'York	B-PER' 'and	O' 'York	B-LOC' '' \
  'Smith	I-PER' 'in	O' 'Paris	S-LOC' 'with	O' 'Ann	B-PER' 'Lee	L-PER' 'and	O' '#NYC	U-ORG' >"$T/train.conll"
# eval: "New York City" (LOC, 3 words) beats "New York" (ORG); "New York" alone is ORG; "York" is
# ambiguous (PER and LOC): O; "Paris" LOC; "Smith" PER then "Paris" LOC: two entities side by side;
# "Ann Lee" PER; "Lee" alone was never an entity: O; "#NYC" ORG; a sentence ending in "New" and one
# starting "York City": no match across the boundary ("York" ambiguous, "City" never an entity).
printf '%s\n' 'I O' 'saw O' 'New B-LOC' 'York I-LOC' 'City I-LOC' 'and O' 'New B-ORG' 'York I-ORG' \
  '' 'York B-LOC' 'Smith B-PER' 'Paris B-LOC' 'Ann B-PER' 'Lee I-PER' 'Lee B-PER' '#NYC O' 'New O' \
  '' 'York O' 'City O' >"$T/eval.conll"
printf 'I\tO\tO\nsaw\tO\tO\nNew\tB-LOC\tB-LOC\nYork\tI-LOC\tI-LOC\nCity\tI-LOC\tI-LOC\nand\tO\tO\nNew\tB-ORG\tB-ORG\nYork\tI-ORG\tI-ORG\n\n' >"$T/expected"
printf 'York\tB-LOC\tO\nSmith\tB-PER\tB-PER\nParis\tB-LOC\tB-LOC\nAnn\tB-PER\tB-PER\nLee\tI-PER\tI-PER\nLee\tB-PER\tO\n#NYC\tO\tB-ORG\nNew\tO\tO\n\n' >>"$T/expected"
printf 'York\tO\tO\nCity\tO\tO\n\n' >>"$T/expected"
$B "$T/train.conll" "$T/eval.conll" >"$T/out" 2>"$T/err"
check "conll hand case" "$T/expected" "$T/out"
# phrases: New York City, New York, York (ambiguous: PER and LOC), Smith, Paris, Ann Lee, #NYC
printf 'dictionary baseline: 7 phrases from the training file, 1 of them ambiguous (never tagged), longest 3 words\n' >"$T/expected"
check "conll phrase count" "$T/expected" "$T/err"

# 2. MSRA TSV: characters, the header names the columns (here in the other order).
printf 'label\ttext_a\nB-LOC I-LOC O B-PER\t北 京 的 李\nO O O\t我 在 北\n' >"$T/train.tsv"
printf 'text_a\tlabel\n我 在 北 京\tO O B-LOC I-LOC\n李 北\tB-PER O\n' >"$T/eval.tsv"
printf '我\tO\tO\n在\tO\tO\n北\tB-LOC\tB-LOC\n京\tI-LOC\tI-LOC\n\n李\tB-PER\tB-PER\n北\tO\tO\n\n' >"$T/expected"
$B --format msra "$T/train.tsv" "$T/eval.tsv" >"$T/out" 2>/dev/null
check "msra hand case" "$T/expected" "$T/out"

# 3. Bad input: exit 1 and a one-line message naming the file and the line; usage: exit 2.
expect_error() {  # name code pattern command...
  name=$1 code=$2 pattern=$3
  shift 3
  set +e
  "$@" >/dev/null 2>"$T/err"
  rc=$?
  set -e
  if [ "$rc" -ne "$code" ] || ! grep -q -- "$pattern" "$T/err" || [ "$(wc -l <"$T/err")" -ne 1 ]; then
    echo "FAIL: $name: exit $rc, stderr:"; cat "$T/err"; fails=$((fails + 1))
  fi
}
printf 'a\tO\nb\n' >"$T/one_field.conll"
expect_error "one field" 1 "one_field.conll:2: expected" $B "$T/one_field.conll" "$T/eval.conll"
printf 'text_a\tlabel\n北 京\tB-LOC\n' >"$T/counts.tsv"
expect_error "counts differ" 1 "counts.tsv:2: 2 words in column 1 but 1 tags in column 2" \
  $B --format msra "$T/counts.tsv" "$T/eval.tsv"
printf 'text_a\tlabel\n北  京\tB-LOC O O\n' >"$T/empty.tsv"
expect_error "empty word" 1 "empty.tsv:2: empty word" $B --format msra "$T/train.tsv" "$T/empty.tsv"
expect_error "missing file" 1 "cannot read" $B "$T/nope.conll" "$T/eval.conll"
expect_error "bad format" 2 "expected conll or msra" $B --format xml "$T/train.conll" "$T/eval.conll"
expect_error "one file" 2 "usage" $B "$T/train.conll"

if [ "$fails" -ne 0 ]; then echo "$fails failed"; exit 1; fi
echo "ok: 9 cases"

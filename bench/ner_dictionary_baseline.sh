#!/bin/sh
# The classic peer of the NER benchmarks: the baseline of the CoNLL shared tasks on named-entity
# recognition, as Tjong Kim Sang (CoNLL-2002, "Introduction to the CoNLL-2002 Shared Task:
# Language-Independent Named Entity Recognition", section 4) and Tjong Kim Sang & De Meulder
# (CoNLL-2003, "Introduction to the CoNLL-2003 Shared Task", section 5) describe it: "a system which
# only selected complete named entities which appeared in the training data and had a unique class
# in the training data. If a phrase was part of more than one entity, the system would select the
# longest one."
#
# What this script does, precisely:
#   1. Training file: reads every sentence's words and tags and cuts the tags into entities the way
#      conlleval and seqeval's default mode do (an entity starts at B-/S-/U-, or at an I-/E-/L- that
#      follows O, the sentence start or another type; it ends before O, B-, S-, U-, a type change, or
#      after E-/L-/S-/U-). Each entity's words, joined, are a phrase; the phrase goes into the
#      dictionary with its type. A phrase seen as entities of two or more types is ambiguous and is
#      never tagged. Words are compared exactly (case-sensitive, byte for byte); the phrase's
#      occurrences outside entities in the training data are not counted (as in the description).
#   2. Evaluation file: in each sentence, left to right: at word i, the longest phrase of the
#      dictionary (up to the longest entity seen in training) that starts at i and has one type is
#      tagged B-TYPE I-TYPE ... (IOB2) and the scan continues after it; with no match, word i is O and
#      the scan moves on to word i+1. Matches never cross a sentence boundary.
#   3. Output (stdout): a conlleval file, "word TAB gold-tag TAB predicted-tag" per word and a blank
#      line after each sentence, which `textune score --metric seqeval --predictions FILE` scores.
#      The number of dictionary phrases (unambiguous / ambiguous) goes to stderr.
#
# Usage: bench/ner_dictionary_baseline.sh [--format conll|msra] TRAIN_FILE EVAL_FILE > OUT.conll
# Formats: conll (default): "word<TAB or spaces>...<TAB or spaces>tag" per line, the tag last, a blank
#   (or whitespace-only) line between sentences, "-DOCSTART-" lines skipped, and lines starting with
#   "#" whose last field is not a tag ("# sent_id = 3") skipped as comments; a "#hashtag<TAB>O" line
#   is a word. msra: a TSV whose first line is a header, with the columns "text_a" (space-separated
#   words) and "label" (space-separated tags), else the first two columns.
# Errors (exit 2 for usage, 1 for bad data, a one-line message naming the file and line): a CoNLL
#   line with one field; a sentence whose word and tag counts differ (msra); an empty word (msra).
# POSIX sh + awk (mawk or gawk); no Python.
set -eu

format=conll
if [ "${1:-}" = "--format" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 [--format conll|msra] TRAIN_FILE EVAL_FILE" >&2; exit 2; }
  format=$2
  shift 2
fi
case "$format" in conll | msra) ;; *) echo "$0: --format: expected conll or msra, got '$format'" >&2; exit 2 ;; esac
if [ $# -ne 2 ]; then
  echo "usage: $0 [--format conll|msra] TRAIN_FILE EVAL_FILE > OUT.conll" >&2
  exit 2
fi
for f in "$1" "$2"; do
  [ -r "$f" ] || { echo "$0: cannot read '$f'" >&2; exit 1; }
done

LC_ALL=C exec awk -v fmt="$format" '
function fail(msg) { printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"; failed = 1; exit 1 }
function is_tag(t) { return t == "O" || t ~ /^[BIESLU]-./ }
# prefix and type of a tag, BILOU read as IOBES (L = E, U = S); a tag without prefix is I-tag
function prefix_of(t) { if (t == "O") return "O"; if (t ~ /^[BIESLU]-/) { p = substr(t, 1, 1); return p == "L" ? "E" : (p == "U" ? "S" : p) } return "I" }
function type_of(t) { if (t == "O") return ""; if (t ~ /^[BIESLU]-/) return substr(t, 3); return t }
function chunk_end(pp, p, pt, t) {
  return pp == "E" || pp == "S" || ((pp == "B" || pp == "I") && (p == "B" || p == "S" || p == "O")) ||
         (pp != "O" && pt != t)
}
function chunk_start(pp, p, pt, t) {
  return p == "B" || p == "S" || ((pp == "E" || pp == "S" || pp == "O") && (p == "E" || p == "I")) ||
         (p != "O" && pt != t)
}
# the sentence in w[1..n], g[1..n] (read in pass sp: 1 training, 2 evaluation) is complete
function flush(   i, j, L, key, pp, pt, p, t, st, ty, best, bl) {
  if (n == 0) return
  if (sp == 1) {
    pp = "O"; pt = ""; st = 0
    for (i = 1; i <= n + 1; i++) {
      if (i <= n) { p = prefix_of(g[i]); t = type_of(g[i]) } else { p = "O"; t = "" }
      if (st && chunk_end(pp, p, pt, t)) { add(st, i - 1, pt); st = 0 }
      if (chunk_start(pp, p, pt, t)) st = i
      pp = p; pt = t
    }
  } else {
    i = 1
    while (i <= n) {
      bl = 0
      for (L = (maxlen < n - i + 1 ? maxlen : n - i + 1); L >= 1; L--) {
        key = w[i]
        for (j = i + 1; j < i + L; j++) key = key SUBSEP w[j]
        if ((key in dict) && dict[key] != AMBIG) { bl = L; ty = dict[key]; break }
      }
      if (bl == 0) { pr[i] = "O"; i++ }
      else { pr[i] = "B-" ty; for (j = i + 1; j < i + bl; j++) pr[j] = "I-" ty; i += bl }
    }
    for (i = 1; i <= n; i++) printf "%s\t%s\t%s\n", w[i], g[i], pr[i]
    printf "\n"
  }
  n = 0
}
function add(a, b, ty,   key, j) {
  key = w[a]
  for (j = a + 1; j <= b; j++) key = key SUBSEP w[j]
  if (!(key in dict)) { dict[key] = ty; phrases++ }
  else if (dict[key] != ty && dict[key] != AMBIG) { dict[key] = AMBIG; ambiguous++ }
  if (b - a + 1 > maxlen) maxlen = b - a + 1
}
BEGIN { AMBIG = "\001"; n = 0; maxlen = 0; phrases = 0; ambiguous = 0 }
FNR == 1 { flush(); header = (fmt == "msra") }
{ sub(/\r$/, "") }
fmt == "conll" {
  if ($0 ~ /^[ \t]*$/ || $1 == "-DOCSTART-") { flush(); next }
  if ($0 ~ /^#/ && !is_tag($NF)) next
  if (NF < 2) fail("expected \"word<TAB>tag\" (at least 2 fields), got 1 field")
  if (n == 0) sp = pass
  n++; w[n] = $1; g[n] = $NF
  next
}
fmt == "msra" {
  nf = split($0, col, "\t")
  if (header) {
    header = 0; tc = 1; lc = 2
    for (i = 1; i <= nf; i++) { if (col[i] == "text_a") tc = i; if (col[i] == "label") lc = i }
    next
  }
  if ($0 ~ /^[ \t]*$/) next
  if (nf < (tc > lc ? tc : lc)) fail("expected the columns text_a and label separated by a TAB")
  nw = split(col[tc], ww, " "); nt = split(col[lc], tt, " ")
  if (col[tc] ~ /^ | $|  /) fail("empty word in column " tc " (two spaces in a row, or a space at an end)")
  if (nw != nt) fail(nw " words in column " tc " but " nt " tags in column " lc)
  for (i = 1; i <= nw; i++) { w[i] = ww[i]; g[i] = tt[i] }
  n = nw; sp = pass
  flush()
}
END {
  if (failed) exit 1
  flush()
  printf "dictionary baseline: %d phrases from the training file, %d of them ambiguous (never tagged), longest %d words\n",
         phrases, ambiguous, maxlen > "/dev/stderr"
}' pass=1 "$1" pass=2 "$2"

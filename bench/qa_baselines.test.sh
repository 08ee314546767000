#!/bin/sh
# Hand cases for bench/qa_baselines (build/qa_baselines, built on demand: `cmake --build build
# --target qa_baselines`). The expected answers are worked by hand from the definitions in
# bench/qa_baselines.cpp's header (the SQuAD paper's sliding window over 1..N-word spans; the first
# sentence), not copied from the program's output; the working is in the comments.
#   bench/qa_baselines.test.sh     (prints "ok: N cases" and exits 0, or what differs and 1)
set -eu
cd "$(dirname "$0")/.."
B=${BASELINES:-build/qa_baselines}
[ -x "$B" ] || cmake --build "$(dirname "$B")" --target qa_baselines >&2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
cases=0
check() {  # name expected actual
  cases=$((cases + 1))
  if [ "$2" != "$3" ]; then echo "FAIL: $1"; echo "  expected: $2"; echo "  actual:   $3"; fails=$((fails + 1)); fi
}
# the value of "KEY": "..." in a predictions file (one entry per line, as the program writes them)
get() { sed -n "s/^ *\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" "$1"; }

cat >"$T/hand.json" <<'EOF'
{"version": "1.1", "data": [
 {"title": "a", "paragraphs": [
  {"context": "Paris is the capital of France. Berlin is big.",
   "qas": [{"id": "en", "question": "What is the capital of France?", "answers": [{"text": "Paris", "answer_start": 0}]}]},
  {"context": "北京是中国的首都。上海很大。",
   "qas": [{"id": "zh", "question": "中国的首都是哪里？", "answers": [{"text": "北京", "answer_start": 0}]}]},
  {"context": "The cat sat on the mat. Dogs bark.",
   "qas": [{"id": "tie", "question": "What did the cat sit on?", "answers": [{"text": "the mat", "answer_start": 15}]}]},
  {"context": "He said \"Yes.\" Then the price rose to 3.5 million.",
   "qas": [{"id": "quote", "question": "What did he say?", "answers": [{"text": "Yes", "answer_start": 9}]}]},
  {"context": "The price rose to 3.5 million dollars in 2010! It fell.",
   "qas": [{"id": "inner", "question": "The price rose to how much in dollars in 2010?", "answers": [{"text": "3.5 million", "answer_start": 18}]}]}
 ]}]}
EOF

# 1. N = 2 for every question.
"$B" predict --data "$T/hand.json" --max-words 2 --sliding-window "$T/sw2.json" --first-sentence "$T/fs.json" 2>"$T/log"
# "en": Q = {what, is, the, capital, of, france}, QB = {what is, is the, the capital, capital of, of france}.
#   "Paris" leaves 5 question words and 4 question bigrams in its sentence: overlap 9; every other
#   span removes a question word (or, "paris is", the word is and the bigram "is the"): at most 7.
check "en: the one span with the largest overlap" "Paris" "$(get "$T/sw2.json" en)"
# "zh": characters are words. Q = {中 国 的 首 都 是 哪 里}; the first sentence 北京是中国的首都 holds 6
#   of them and the question bigrams 中国 国的 的首 首都. 北, 京 and 北京 remove none: overlap 10
#   (every other span: at most 9). IC = log 2 for every character (each occurs once); window scores:
#   北: |S| = 9, the window 北京是中国的首都上 holds 7 words of S: 7 log 2; 京: the same, 7 log 2;
#   北京: |S| = 10, the window 北京是中国的首都上海 holds 8: 8 log 2, the best.
check "zh: characters as words, the window decides" "北京" "$(get "$T/sw2.json" zh)"
# "tie": Q = {what, did, the, cat, sit, on}, QB = {what did, did the, the cat, cat sit, sit on}.
#   Overlap 4 (the, cat, on + "the cat") for "sat", the second "the", "mat" and "the mat"; 3 or
#   less for the others. C(the) = 2: IC(the) = log 1.5, every other word log 2. Windows: "sat" (|S| =
#   7): the cat sat on the | mat dogs = 2 log 1.5 + 3 log 2; "mat" and "the mat" (|S| = 7): the same
#   sum; the second "the" (|S| = 6): 2 log 1.5 + 2 log 2. A tie of three: the earliest start, "sat".
check "tie: the earlier start wins a tie" "sat" "$(get "$T/sw2.json" tie)"
# "inner": "." and "," between digits stay in the word, so 3.5 is one word (a "." before a digit
#   ends no sentence either). Q = {the price rose to how much in dollars 2010} (9 types); the
#   sentence: the price rose to 3.5 million dollars in 2010 (0..8), it fell (9, 10). Question bigrams
#   in the sentence: the price, price rose, rose to, dollars in, in 2010. Spans inside "3.5 million"
#   keep all 7 question words and 5 bigrams: overlap 12, the largest. IC = log 2 for every word (each
#   occurs once). "3.5 million": |S| = 11, the window from "the" to "it" holds 9 words of S: 9 log 2;
#   "3.5" or "million": |S| = 10, 8 log 2. (N = 1: "3.5" and "million" tie at 8 log 2: "3.5".)
check "inner: a number with a decimal point is one word" "3.5 million" "$(get "$T/sw2.json" inner)"

# "quote": Q = {what did he say}; only "he" (sentence 1: he said yes) is in the context, no question
#   bigram is. Spans without "he" in sentence 1 (said, yes, said yes) have overlap 1, all others 0.
#   Windows: "said yes" |S| = 6, he said yes: 3 log 2, beating said or yes (|S| = 5, 2 log 2). The text
#   runs from "said" to the end of "Yes": said "Yes (JSON: said \"Yes).
check "quote: the span's text is the context's" 'said \"Yes' "$(get "$T/sw2.json" quote)"

# 2. N = 1: "en" still Paris; "inner" "3.5" (above); "zh": 北 and 京 (overlap 10) both score 7 log 2: 北.
"$B" predict --data "$T/hand.json" --max-words 1 --sliding-window "$T/sw1.json" 2>"$T/log"
check "N = 1: en" "Paris" "$(get "$T/sw1.json" en)"
check "N = 1: inner" "3.5" "$(get "$T/sw1.json" inner)"
check "N = 1: zh" "北" "$(get "$T/sw1.json" zh)"

# 3. First sentences: "." "!" "?" before whitespace or the end, 。！？ anywhere; a closing quote
#    after the mark stays in the sentence; "3.5" is not an end.
check "first sentence: en" "Paris is the capital of France." "$(get "$T/fs.json" en)"
check "first sentence: zh" "北京是中国的首都。" "$(get "$T/fs.json" zh)"
check "first sentence: a closing quote stays" 'He said \"Yes.\"' "$(get "$T/fs.json" quote)"
check "first sentence: a decimal point is no end" "The price rose to 3.5 million dollars in 2010!" "$(get "$T/fs.json" inner)"

# 4. --train chooses N in 1..--max-words by the training file's F1 (squad): on hand.json, N = 2 beats
#    N = 1 on "inner" ("3.5 million": F1 1; "3.5", normalized "35" against "35 million": 2/3), "zh" (北京 1
#    against 北 0) and "quote" (said "Yes: 2/3 against said: 0), the others equal: N = 2.
"$B" predict --data "$T/hand.json" --train "$T/hand.json" --max-words 2 --sliding-window "$T/swt.json" 2>"$T/log"
check "--train: N chosen by F1" "sliding window: N = 2 words" "$(grep -o 'sliding window: N = [0-9]* words' "$T/log")"

# 5. split: by article, seeded, every article in exactly one file, file order kept, reproducible.
python_free_articles() {  # FILE -> the article titles, one per line, in file order
  grep -o '"title":"[^"]*"' "$1" | sed 's/"title":"\(.*\)"/\1/'
}
{
  printf '{"version":"1.1","data":['
  for i in 0 1 2 3 4 5 6 7 8 9; do
    [ "$i" = 0 ] || printf ','
    printf '{"title":"t%s","paragraphs":[{"context":"c %s.","qas":[{"id":"q%s","question":"q?","answers":[{"text":"c","answer_start":0}]}]}]}' "$i" "$i" "$i"
  done
  printf ']}\n'
} >"$T/ten.json"
"$B" split --data "$T/ten.json" --held-out 0.2 --seed 7 --train-output "$T/a.json" --eval-output "$T/b.json" 2>"$T/log"
check "split: round(10 x 0.2) = 2 articles held out" "2" "$(python_free_articles "$T/b.json" | wc -l | tr -d ' ')"
check "split: the other 8 to train" "8" "$(python_free_articles "$T/a.json" | wc -l | tr -d ' ')"
check "split: every article once" "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9" \
  "$( (python_free_articles "$T/a.json"; python_free_articles "$T/b.json") | sort | tr '\n' ' ' | sed 's/ $//')"
check "split: file order kept" "$(python_free_articles "$T/a.json" | sort -V | tr '\n' ' ')" \
  "$(python_free_articles "$T/a.json" | tr '\n' ' ')"
"$B" split --data "$T/ten.json" --held-out 0.2 --seed 7 --train-output "$T/a2.json" --eval-output "$T/b2.json" 2>"$T/log"
check "split: the same seed, the same split" "same" "$(cmp -s "$T/b.json" "$T/b2.json" && echo same || echo differs)"

# 6. subset: the questions whose ids a predictions file holds; paragraphs and articles left empty
#    go. hand.json's one article keeps 2 of its 5 paragraphs.
printf '{"zh": "x", "inner": "y", "nope": "z"}\n' >"$T/ids.json"
"$B" subset --data "$T/hand.json" --ids "$T/ids.json" --output "$T/sub.json" 2>"$T/log"
check "subset: the ids kept, in file order" "zh inner" "$(grep -o '"id":"[^"]*"' "$T/sub.json" | sed 's/"id":"\(.*\)"/\1/' | tr '\n' ' ' | sed 's/ $//')"
check "subset: counts" "$T/sub.json: 1 articles, 2 paragraphs, 2 questions" "$(cat "$T/log")"

# 7. Errors: usage errors exit 2, a file that cannot be read exits 1, each with one line.
rc=0; "$B" predict --data "$T/hand.json" --max-words 0 --sliding-window "$T/x.json" 2>"$T/err" || rc=$?
check "usage: --max-words 0 exits 2" "2 1" "$rc $(wc -l <"$T/err" | tr -d ' ')"
rc=0; "$B" split --data "$T/ten.json" --held-out 1.5 --train-output "$T/x" --eval-output "$T/y" 2>"$T/err" || rc=$?
check "usage: --held-out 1.5 exits 2" "2" "$rc"
rc=0; "$B" predict --data "$T/missing.json" --sliding-window "$T/x.json" 2>"$T/err" || rc=$?
check "a missing file exits 1" "1 1" "$rc $(wc -l <"$T/err" | tr -d ' ')"

if [ "$fails" -eq 0 ]; then echo "ok: $cases cases"; else echo "$fails of $cases cases failed"; exit 1; fi

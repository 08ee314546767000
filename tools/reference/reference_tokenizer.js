#!/usr/bin/env node
// The live reference tokenizer for textune's differential tests and benchmarks: Hugging Face
// `tokenizers` (Rust) behind the Node binding @anush008/tokenizers.
//
//   node reference_tokenizer.js encode TOKENIZER_JSON INPUT_JSONL OUTPUT_JSONL
//     Each input line is {"text": s, "pair": s|null, "add_special_tokens": bool,
//     "truncation": {"max_length": n, "strategy": "LongestFirst"|"OnlyFirst"|"OnlySecond",
//     "stride": n}|null}; each output line holds the encoding (ids, type_ids, tokens, offsets,
//     special_tokens_mask, attention_mask, word_ids, sequence_ids, overflowing[]), "decoded"
//     (skipping special tokens) and "decoded_all", or {"error": message}.
//   node reference_tokenizer.js bench TOKENIZER_JSON SENTENCES_TXT
//     Encodes every line with encodeBatch (all cores unless RAYON_NUM_THREADS is set) and prints
//     {"sentences", "tokens", "seconds"} as one JSON line (after one warm-up pass).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(__dirname, 'node_modules', '@anush008', 'tokenizers'));

function encodingJson(e) {
  return {
    ids: e.getIds(),
    type_ids: e.getTypeIds(),
    tokens: e.getTokens(),
    offsets: e.getOffsets(),
    special_tokens_mask: e.getSpecialTokensMask(),
    attention_mask: e.getAttentionMask(),
    word_ids: e.getWordIds().map((x) => (x === undefined ? null : x)),
    sequence_ids: e.getSequenceIds().map((x) => (x === undefined ? null : x)),
  };
}

async function encodeMode(tokPath, input, output) {
  const tok = Tokenizer.fromFile(tokPath);
  const lines = fs.readFileSync(input, 'utf8').split('\n').filter((l) => l.length > 0);
  const out = [];
  let truncKey = null;
  for (const line of lines) {
    const req = JSON.parse(line);
    const key = req.truncation ? JSON.stringify(req.truncation) : null;
    if (key !== truncKey) {
      if (req.truncation) {
        tok.setTruncation(req.truncation.max_length, {
          strategy: req.truncation.strategy,
          stride: req.truncation.stride || 0,
        });
      } else {
        tok.disableTruncation();
      }
      truncKey = key;
    }
    try {
      const add = req.add_special_tokens !== false;
      const e = await tok.encode(req.text, req.pair === undefined ? null : req.pair, { addSpecialTokens: add });
      const r = encodingJson(e);
      r.overflowing = e.getOverflowing().map(encodingJson);
      r.decoded = await tok.decode(r.ids, true);
      r.decoded_all = await tok.decode(r.ids, false);
      out.push(JSON.stringify(r));
    } catch (err) {
      out.push(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
    }
  }
  fs.writeFileSync(output, out.join('\n') + '\n');
}

async function benchMode(tokPath, sentencesPath) {
  const tok = Tokenizer.fromFile(tokPath);
  const sents = fs.readFileSync(sentencesPath, 'utf8').split('\n').filter((l) => l.length > 0);
  await tok.encodeBatch(sents.slice(0, 2000));
  const t0 = process.hrtime.bigint();
  const enc = await tok.encodeBatch(sents);
  const t1 = process.hrtime.bigint();
  let tokens = 0;
  for (const e of enc) tokens += e.getLength();
  console.log(JSON.stringify({ sentences: sents.length, tokens, seconds: Number(t1 - t0) / 1e9 }));
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'encode' && args.length === 3) return encodeMode(...args);
  if (mode === 'bench' && args.length === 2) return benchMode(...args);
  console.error('usage: reference_tokenizer.js encode TOKENIZER_JSON IN OUT | bench TOKENIZER_JSON SENTENCES');
  process.exit(2);
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});

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
//   node reference_tokenizer.js encode-words TOKENIZER_JSON INPUT_JSONL OUTPUT_JSONL
//     Pre-split words (transformers' is_split_into_words, tokenizers' InputSequence::PreTokenized).
//     Each input line is {"words": [s, ...], "add_special_tokens": bool, "truncation":
//     {"max_length": n, "stride": n}|null}; each output line holds the encoding as for encode
//     (without "decoded"). This binding's encode takes strings only (its isPretokenized option is
//     ignored), so the pre-tokenized path of tokenizers/src/tokenizer/mod.rs
//     (encode_single_sequence) is composed here from the Rust pieces it is made of: every word
//     encoded on its own without special tokens (one encodeBatch), the words' encodings joined by
//     the crate's Encoding::merge without growing offsets (mergeEncodings(list, false)), each
//     token's word id set to its word's index, then Encoding::truncate(max_length - specials,
//     stride) when longer, as truncate_encodings does for one sequence. Special tokens are placed
//     as the single-sequence template of BERT and RoBERTa places them: the specials that encode("")
//     gives, the first before the sequence and the others after it, offsets (0, 0), in every
//     overflow window. Post-processor offset trimming (RobertaProcessing trim_offsets) comes from
//     the per-word encodes; it differs from the crate's only for words with leading spaces.
//   node reference_tokenizer.js decode-tokens TOKENIZER_JSON INPUT_JSONL OUTPUT_JSONL
//     Each input line is {"tokens": [s, ...]}; each output line {"decoded": s}: the tokenizer's
//     decoder on token strings (transformers' convert_tokens_to_string), or the tokens joined
//     with spaces when it has none.
//   node reference_tokenizer.js bench TOKENIZER_JSON SENTENCES_TXT
//     Encodes every line with encodeBatch (all cores unless RAYON_NUM_THREADS is set) and prints
//     {"sentences", "tokens", "seconds"} as one JSON line (after one warm-up pass).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer, mergeEncodings } = require(path.join(__dirname, 'node_modules', '@anush008', 'tokenizers'));

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

function readJsonl(input) {
  return fs
    .readFileSync(input, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

async function encodeWordsMode(tokPath, input, output) {
  const tok = Tokenizer.fromFile(tokPath);
  tok.disableTruncation();
  const reqs = readJsonl(input);
  const all = [];
  for (const r of reqs) for (const w of r.words) all.push(w);
  const encs = all.length ? await tok.encodeBatch(all, { addSpecialTokens: false }) : [];
  const specials = encodingJson(await tok.encode('', null, { addSpecialTokens: true }));
  const nAdded = specials.ids.length;
  const part = (e, from, to) => {
    const out = {};
    for (const k of Object.keys(e)) out[k] = e[k].slice(from, to);
    return out;
  };
  const withSpecials = (e) => {
    if (nAdded === 0) return e;
    const head = part(specials, 0, 1);
    const tail = part(specials, 1, nAdded);
    const out = {};
    for (const k of Object.keys(e)) out[k] = head[k].concat(e[k], tail[k]);
    return out;
  };
  const out = [];
  let at = 0;
  for (const r of reqs) {
    try {
      const mine = encs.slice(at, at + r.words.length);
      const wordIds = [];
      mine.forEach((e, i) => {
        for (let k = 0; k < e.getLength(); ++k) wordIds.push(i);
      });
      const merged = mergeEncodings(mine, false);
      const add = r.add_special_tokens !== false;
      // The word ids of the merged encoding, by position (truncate keeps positions in order).
      const withWords = (e, offset) => {
        const j = encodingJson(e);
        j.word_ids = wordIds.slice(offset, offset + j.ids.length);
        // post_process marks every token of the sequence as sequence 0 (Encoding::merge keeps
        // only the last word's sequence range, which the crate's own path never has).
        j.sequence_ids = j.ids.map(() => 0);
        return j;
      };
      let windows = [merged];
      if (r.truncation) {
        const max = r.truncation.max_length - (add ? nAdded : 0);
        if (merged.getLength() > max) {
          merged.truncate(max, r.truncation.stride || 0, 'right');
          windows = [merged].concat(merged.getOverflowing());
        }
      }
      // Window k starts at token k * (max - stride) of the whole sequence.
      const step = r.truncation ? r.truncation.max_length - (add ? nAdded : 0) - (r.truncation.stride || 0) : 0;
      const js = windows.map((w, k) => {
        const j = withWords(w, k * step);
        return add ? withSpecials(j) : j;
      });
      const res = js[0];
      res.overflowing = js.slice(1);
      out.push(JSON.stringify(res));
    } catch (err) {
      out.push(JSON.stringify({ error: String(err && err.message ? err.message : err) }));
    }
    at += r.words.length;
  }
  fs.writeFileSync(output, out.join('\n') + '\n');
}

async function decodeTokensMode(tokPath, input, output) {
  const tok = Tokenizer.fromFile(tokPath);
  const dec = tok.getDecoder();
  const out = readJsonl(input).map((r) =>
    JSON.stringify({ decoded: dec ? dec.decode(r.tokens) : r.tokens.join(' ') }),
  );
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
  if (mode === 'encode-words' && args.length === 3) return encodeWordsMode(...args);
  if (mode === 'decode-tokens' && args.length === 3) return decodeTokensMode(...args);
  if (mode === 'bench' && args.length === 2) return benchMode(...args);
  console.error(
    'usage: reference_tokenizer.js encode|encode-words|decode-tokens TOKENIZER_JSON IN OUT | bench TOKENIZER_JSON SENTENCES',
  );
  process.exit(2);
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});

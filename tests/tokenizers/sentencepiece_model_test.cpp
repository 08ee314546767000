// Our protobuf reader of SentencePiece model files, on the real opus-mt-uk-en files and on corrupt
// ones. Expected values come from google's own decoder (sentencepiece_model_pb2 with protobuf 3.21,
// ParseFromString on the same files) and from the pieces of vocab.json.
#include <random>

#include "support/test_support.h"
#include "sentencepiece_test_util.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "tokenizers/sentencepiece_model.h"
#include "tokenizers/sentencepiece_processor.h"

using namespace textune::tokenizers::spm;
namespace proto = textune::testing::spm_proto;

namespace {

std::string uk_en(const std::string& file) { return textune::testing::data_dir() + "/vocab/opus-mt-uk-en/" + file; }

size_t count_type(const ModelProto& m, PieceType t) {
  size_t n = 0;
  for (const auto& p : m.pieces) n += p.type == t;
  return n;
}

/// The DataError message of parsing `bytes`, or "" when it parses.
std::string parse_error(const std::string& bytes) {
  try {
    parse_model_proto(bytes, "test.spm");
  } catch (const textune::DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SentencePieceModel, ReadsTheSourceModel) {
  const ModelProto m = read_model_proto(uk_en("source.spm"));
  ASSERT_EQ(m.pieces.size(), 32000u);
  EXPECT_EQ(count_type(m, PieceType::kNormal), 31997u);
  EXPECT_EQ(count_type(m, PieceType::kControl), 2u);
  EXPECT_EQ(count_type(m, PieceType::kUnknown), 1u);
  EXPECT_EQ(m.pieces[0].piece, "<unk>");
  EXPECT_EQ(m.pieces[0].type, PieceType::kUnknown);
  EXPECT_EQ(m.pieces[1].piece, "<s>");
  EXPECT_EQ(m.pieces[1].type, PieceType::kControl);
  EXPECT_EQ(m.pieces[2].piece, "</s>");
  EXPECT_EQ(m.pieces[3].piece, ",");
  EXPECT_EQ(m.pieces[3].score, -2.8025448322296143f);
  EXPECT_EQ(m.pieces[4].piece, ".");
  EXPECT_EQ(m.pieces[4].score, -3.0078749656677246f);
  EXPECT_EQ(m.pieces[11445].piece, "\xe2\x96\x81\xd0\xb4\xd0\xbe\xd0\xbc");  // ▁дом
  EXPECT_EQ(m.pieces[11445].score, -11.479265213012695f);
  EXPECT_EQ(m.pieces[31999].piece, "\xe0\xb9\x89");  // U+0E49
  EXPECT_EQ(m.pieces[31999].score, -17.98947525024414f);

  const TrainerSpec& t = m.trainer_spec;
  EXPECT_EQ(t.model_type, ModelType::kUnigram);
  EXPECT_EQ(t.vocab_size, 32000);
  EXPECT_EQ(t.max_sentencepiece_length, 16);
  EXPECT_TRUE(t.split_by_unicode_script);
  EXPECT_TRUE(t.split_by_whitespace);
  EXPECT_TRUE(t.split_by_number);
  EXPECT_FALSE(t.byte_fallback);
  EXPECT_FALSE(t.treat_whitespace_as_suffix);
  EXPECT_FALSE(t.split_digits);
  EXPECT_EQ(t.unk_id, 0);
  EXPECT_EQ(t.bos_id, 1);
  EXPECT_EQ(t.eos_id, 2);
  EXPECT_EQ(t.pad_id, -1);
  EXPECT_EQ(t.unk_piece, "<unk>");
  EXPECT_EQ(t.unk_surface, " \xE2\x81\x87 ");

  const NormalizerSpec& n = m.normalizer_spec;
  EXPECT_EQ(n.name, "nmt_nfkc");
  EXPECT_EQ(n.precompiled_charsmap.size(), 237538u);
  EXPECT_TRUE(n.add_dummy_prefix);
  EXPECT_TRUE(n.remove_extra_whitespaces);
  EXPECT_TRUE(n.escape_whitespaces);
  EXPECT_FALSE(m.denormalizer_spec.has_value());
}

TEST(SentencePieceModel, ReadsTheTargetModel) {
  const ModelProto m = read_model_proto(uk_en("target.spm"));
  ASSERT_EQ(m.pieces.size(), 32000u);
  EXPECT_EQ(m.pieces[3].piece, ".");
  EXPECT_EQ(m.pieces[3].score, -2.952671527862549f);
  EXPECT_EQ(m.pieces[4].piece, ",");
  EXPECT_EQ(m.pieces[4].score, -3.181253671646118f);
  EXPECT_EQ(m.pieces[31999].piece, "\xce\xb5");  // ε
  EXPECT_EQ(m.pieces[31999].score, -18.004846572875977f);
  EXPECT_EQ(m.normalizer_spec.name, "nmt_nfkc");
}

TEST(SentencePieceModel, SourcePiecesAreInVocabJson) {
  // vocab.json (Marian's joint vocabulary) holds every source piece but <s> and five rare pieces.
  const ModelProto m = read_model_proto(uk_en("source.spm"));
  const auto vocab = nlohmann::json::parse(textune::core::read_file(uk_en("vocab.json")));
  EXPECT_EQ(vocab.size(), 61587u);
  std::vector<size_t> missing;
  for (size_t i = 0; i < m.pieces.size(); ++i)
    if (!vocab.contains(m.pieces[i].piece)) missing.push_back(i);
  EXPECT_EQ(missing, (std::vector<size_t>{1, 11445, 16445, 31898, 31899, 31901}));
  EXPECT_EQ(vocab["</s>"], 0);
  EXPECT_EQ(vocab["<unk>"], 1);
  EXPECT_EQ(vocab["<pad>"], 61586);
}

TEST(SentencePieceModel, ByteAndPieceSpelling) {
  EXPECT_EQ(byte_to_piece(0), "<0x00>");
  EXPECT_EQ(byte_to_piece(0xE2), "<0xE2>");
  EXPECT_EQ(piece_to_byte("<0xAC>"), 0xAC);
  EXPECT_EQ(piece_to_byte("<0xac>"), -1);  // sentencepiece spells them upper case only
  EXPECT_EQ(piece_to_byte("<0x1>"), -1);
}

TEST(SentencePieceModel, SkipsUnknownFieldsOfEveryWireType) {
  // A piece with unknown fields of wire types varint, 64-bit, bytes, group and 32-bit around it.
  std::string piece = proto::bytes_field(1, "<unk>") + proto::float_field(2, 0.0f) + proto::varint_field(3, 2);
  std::string unknown = proto::varint_field(90, 7) + proto::tag(91, 1) + std::string(8, 'x') +
                        proto::bytes_field(92, "zz") + proto::tag(93, 3) + proto::varint_field(1, 5) +
                        proto::tag(93, 4) + proto::tag(94, 5) + std::string(4, 'y');
  const std::string bytes = proto::bytes_field(1, unknown + piece) + unknown;
  const ModelProto m = parse_model_proto(bytes, "test.spm");
  ASSERT_EQ(m.pieces.size(), 1u);
  EXPECT_EQ(m.pieces[0].piece, "<unk>");
  EXPECT_EQ(m.pieces[0].type, PieceType::kUnknown);
}

TEST(SentencePieceModel, CorruptBytesAreDataErrors) {
  // Each message names the file and the byte offset where the problem is.
  EXPECT_NE(parse_error("\x0a\xff").find("test.spm: not a valid SentencePiece model: truncated varint at byte 1"),
            std::string::npos);
  EXPECT_NE(parse_error("\x0a\x05" "ab").find("length 5 runs past the end of its message at byte 1"), std::string::npos);
  EXPECT_NE(parse_error("\x0f").find("wire type 7 at byte 0"), std::string::npos);
  EXPECT_NE(parse_error(std::string("\x00", 1)).find("field number 0 at byte 0"), std::string::npos);
  EXPECT_NE(parse_error("\x0a" + std::string(11, '\xff')).find("varint longer than 10 bytes"), std::string::npos);
  // Inside a piece: the piece message (at byte 2) holds a string field whose length runs past it.
  EXPECT_NE(parse_error("\x0a\x02\x0a\x05").find("length 5 runs past the end of its message at byte 3"),
            std::string::npos);
  EXPECT_NE(parse_error(std::string("\x0a\x03\x15\x00\x00", 5)).find("truncated 32-bit field at byte 3"), std::string::npos);
  EXPECT_NE(parse_error("").find("holds no pieces"), std::string::npos);
  EXPECT_NE(parse_error(proto::tag(5, 3) + proto::varint_field(1, 1)).find("unterminated group"), std::string::npos);
}

TEST(SentencePieceModel, TruncatedRealFileIsADataError) {
  const std::string bytes = textune::core::read_file(uk_en("source.spm"));
  // Cut inside the normalizer spec (the file ends with it) and inside the pieces.
  for (size_t cut : {bytes.size() - 1, bytes.size() - 1000, bytes.size() / 2 + 3, size_t{7}}) {
    const std::string err = parse_error(bytes.substr(0, cut));
    EXPECT_NE(err.find("not a valid SentencePiece model"), std::string::npos) << "cut at " << cut << ": " << err;
  }
}

TEST(SentencePieceModel, InvalidModelsAreDataErrors) {
  using P = proto::Piece;
  auto load_error = [](const std::string& bytes) -> std::string {
    try {
      SentencePieceProcessor p(parse_model_proto(bytes, "m.spm"), "m.spm");
    } catch (const textune::DataError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(load_error(proto::model({{"a", -1}})).find("no unknown piece"), std::string::npos);
  EXPECT_NE(load_error(proto::model({{"<unk>", 0, 2}, {"a", -1}, {"a", -2}})).find("\"a\" (id 2) is defined twice"),
            std::string::npos);
  EXPECT_NE(load_error(proto::model({{"<unk>", 0, 2}, {"<u>", 0, 2}})).find("two unknown pieces"), std::string::npos);
  EXPECT_NE(load_error(proto::model({{"<unk>", 0, 2}, {"<0x41>", 0, 6}})).find("byte_fallback is false"),
            std::string::npos);
  EXPECT_NE(load_error(proto::model({{"<unk>", 0, 2}, {"<0x41>", 0, 6}}, 1, true)).find("byte piece <0x00> is missing"),
            std::string::npos);
  EXPECT_NE(load_error(proto::model({{"<unk>", 0, 2}, {"", -1}})).find("piece 1 is empty"), std::string::npos);
  // A charsmap whose trie size runs past the blob.
  EXPECT_NE(load_error(proto::model({{"<unk>", 0, 2}, {"a", -1}}, 1, false, true, true, std::string("\xff\x00\x00\x00xx", 6)))
                .find("precompiled_charsmap is broken"),
            std::string::npos);
}

TEST(SentencePieceModel, RandomCorruptionNeverCrashes) {
  // Flipped bytes anywhere in the file (pieces, specs, the charsmap trie): parsing, loading and
  // encoding either work or raise DataError; nothing else may happen.
  const std::string original = textune::core::read_file(uk_en("source.spm"));
  std::mt19937 rng(1234);
  size_t errors = 0;
  for (int trial = 0; trial < 12; ++trial) {
    std::string bytes = original;
    // Half of the trials corrupt the charsmap (the last 237 kB of the file), half anywhere.
    const size_t lo = trial % 2 ? bytes.size() - 237000 : 0;
    for (int k = 0; k < 20; ++k) bytes[lo + rng() % (bytes.size() - lo)] = static_cast<char>(rng());
    try {
      SentencePieceProcessor p(parse_model_proto(bytes, "x.spm"), "x.spm");
      for (const char* text : {"Привіт, світе! Hello ＡＢＣ ﬁne", "\xe2\x80\x8b x \xc2\xa0 y", ""})
        (void)p.encode_as_pieces(text);
    } catch (const textune::DataError&) {
      ++errors;
    }
  }
  SUCCEED() << errors << " of 12 corrupted files were refused";
}

// SentencePiece encoding and decoding: hand-made models whose best segmentation is worked out in the
// comments, and the real opus-mt-uk-en source model against outputs of google's sentencepiece library.
#include "support/test_support.h"
#include "sentencepiece_test_util.h"
#include "textune/core/error.h"
#include "tokenizers/sentencepiece_processor.h"

using namespace textune::tokenizers::spm;
namespace proto = textune::testing::spm_proto;
using Pieces = std::vector<std::string>;

namespace {

const std::string kWs = "\xe2\x96\x81";  // U+2581

SentencePieceProcessor make(const std::string& bytes) { return SentencePieceProcessor(parse_model_proto(bytes, "t"), "t"); }

std::vector<proto::Piece> base_pieces() { return {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}}; }

}  // namespace

TEST(SentencePieceUnigram, PicksTheBestScoringPath) {
  auto pieces = base_pieces();
  // ids 3.. : "▁" -1, "a" -2, "b" -2, "ab" -3, "▁ab" -3.5
  for (auto p : std::vector<proto::Piece>{{kWs, -1}, {"a", -2}, {"b", -2}, {"ab", -3}, {kWs + "ab", -3.5f}})
    pieces.push_back(p);
  const auto sp = make(proto::model(pieces));
  // "▁ab": ▁ab = -3.5 beats ▁+ab = -4 and ▁+a+b = -5.
  EXPECT_EQ(sp.encode_as_pieces("ab"), (Pieces{kWs + "ab"}));
  EXPECT_EQ(sp.encode_as_ids("ab"), (std::vector<int32_t>{7}));
  // "▁ab▁ba": ▁ab (-3.5), then ▁ (-1) b (-2) a (-2).
  EXPECT_EQ(sp.encode_as_pieces("ab ba"), (Pieces{kWs + "ab", kWs, "b", "a"}));
}

TEST(SentencePieceUnigram, TiesGoToTheLongestLastPiece) {
  auto pieces = base_pieces();
  pieces.push_back({kWs, -1});
  pieces.push_back({"x", -1});
  pieces.push_back({"xx", -2});
  // "▁xxx": ▁ x x x, ▁ xx x and ▁ x xx all score -4. EncodeOptimized keeps, at each end position, the
  // first candidate among equals, and candidates arrive by start position: the piece starting earliest
  // (the longest) wins. End of "▁xx": xx from 1 (-1-2) before x from 2 (-2-1): xx. End of "▁xxx": xx
  // from 2 (-2-2) before x from 3 (-3-1): xx. Backtracking gives ▁ x xx.
  EXPECT_EQ(make(proto::model(pieces)).encode_as_pieces("xxx"), (Pieces{kWs, "x", "xx"}));
}

TEST(SentencePieceUnigram, UnknownRunsAreFusedIntoOnePiece) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs, -1}, {"a", -2}, {"b", -2}}) pieces.push_back(p);
  const auto sp = make(proto::model(pieces));
  // '?' and '€' have no piece: each becomes <unk> (min score -2 minus 10) and the run is one piece whose
  // text is the unknown text itself, with the unknown id.
  EXPECT_EQ(sp.encode_as_pieces("a?€ b"), (Pieces{kWs, "a", "?\xe2\x82\xac", kWs, "b"}));
  EXPECT_EQ(sp.encode_as_ids("a?€ b"), (std::vector<int32_t>{3, 4, 0, 3, 5}));
}

TEST(SentencePieceUnigram, ByteFallbackSpellsUnknownCharactersAsBytes) {
  auto pieces = base_pieces();
  for (int b = 0; b < 256; ++b) pieces.push_back({byte_to_piece(static_cast<unsigned char>(b)), 0, 6});  // ids 3..258
  pieces.push_back({kWs, -1});  // 259
  pieces.push_back({"a", -2});  // 260
  const auto sp = make(proto::model(pieces, 1, /*byte_fallback=*/true));
  // '€' = E2 82 AC has no piece: <0xE2> <0x82> <0xAC>, ids 3 + byte.
  EXPECT_EQ(sp.encode_as_pieces("a€"), (Pieces{kWs, "a", "<0xE2>", "<0x82>", "<0xAC>"}));
  EXPECT_EQ(sp.encode_as_ids("a€"), (std::vector<int32_t>{259, 260, 3 + 0xE2, 3 + 0x82, 3 + 0xAC}));
  // Decoding joins the bytes back into UTF-8; a lone continuation byte becomes U+FFFD.
  EXPECT_EQ(sp.decode_ids({259, 260, 3 + 0xE2, 3 + 0x82, 3 + 0xAC}), "a\xe2\x82\xac");
  EXPECT_EQ(sp.decode_pieces({"<0x82>", "a"}), "\xef\xbf\xbd" "a");
}

TEST(SentencePieceUnigram, UserDefinedSymbolsStayWhole) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs, -1}, {"a", -2}, {"b", -2}, {"<sep>", 0, 4}}) pieces.push_back(p);
  const auto sp = make(proto::model(pieces));
  // "<sep>" is matched before normalization and scores len * max_score - 0.1 (about -0.1).
  EXPECT_EQ(sp.encode_as_pieces("a<sep>b"), (Pieces{kWs, "a", "<sep>", "b"}));
}

TEST(SentencePieceUnigram, OffsetsPointIntoTheOriginalText) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs, -1}, {"a", -2}, {"b", -2}}) pieces.push_back(p);
  const auto sp = make(proto::model(pieces));
  EncodeScratch scratch;
  std::vector<EncodedPiece> out;
  // "  a   b  " -> "▁a▁b": ▁ (orig 2,2: the dummy prefix has no source), a (2,3), ▁ (3,6: the spaces),
  // b (6,7).
  sp.encode("  a   b  ", &out, &scratch);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(scratch.normalized, kWs + "a" + kWs + "b");
  EXPECT_EQ(std::make_pair(out[0].orig_begin, out[0].orig_end), std::make_pair(2u, 2u));
  EXPECT_EQ(std::make_pair(out[1].orig_begin, out[1].orig_end), std::make_pair(2u, 3u));
  EXPECT_EQ(std::make_pair(out[2].orig_begin, out[2].orig_end), std::make_pair(3u, 6u));
  EXPECT_EQ(std::make_pair(out[3].orig_begin, out[3].orig_end), std::make_pair(6u, 7u));
}

TEST(SentencePieceUnigram, WhitespaceOptions) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs, -1}, {"a", -2}, {"b", -2}}) pieces.push_back(p);
  // Without add_dummy_prefix and remove_extra_whitespaces, spaces are kept as they are.
  const auto sp = make(proto::model(pieces, 1, false, /*add_dummy_prefix=*/false, /*remove_extra_whitespaces=*/false));
  EXPECT_EQ(sp.encode_as_pieces(" a  b"), (Pieces{kWs, "a", kWs, kWs, "b"}));
  EXPECT_EQ(sp.encode_as_pieces(""), Pieces{});
}

TEST(SentencePieceBpe, MergesByScoreThenLeftmost) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs, -100}, {"a", -100}, {"b", -100}, {"ab", -1}, {kWs + "a", -2},
                                          {kWs + "ab", -3}, {"aa", -1}})
    pieces.push_back(p);
  const auto sp = make(proto::model(pieces, /*model_type=*/2));
  // ▁ a b: pairs ▁a (-2) and ab (-1); ab first, then ▁+ab = ▁ab (-3).
  EXPECT_EQ(sp.encode_as_pieces("ab"), (Pieces{kWs + "ab"}));
  // ▁ a a a: ▁a (-2), aa at 1 (-1), aa at 2 (-1): the tie goes to the left pair, giving ▁ aa a; then
  // ▁aa and aaa are no pieces.
  EXPECT_EQ(sp.encode_as_pieces("aaa"), (Pieces{kWs, "aa", "a"}));
  // Characters without a piece are unknown (fused).
  EXPECT_EQ(sp.encode_as_ids("ab cc"), (std::vector<int32_t>{8, 3, 0}));
}

TEST(SentencePieceBpe, UnusedPiecesAreResegmented) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs, -100}, {"a", -100}, {"b", -100}, {"ab", -1, 5}}) pieces.push_back(p);
  // ab is UNUSED: it is merged (it may lead to longer merges) and then split back into a b.
  EXPECT_EQ(make(proto::model(pieces, 2)).encode_as_pieces("ab"), (Pieces{kWs, "a", "b"}));
}

TEST(SentencePieceDecode, ControlUnknownAndSpaces) {
  auto pieces = base_pieces();
  for (auto p : std::vector<proto::Piece>{{kWs + "he", -1}, {"llo", -2}, {kWs + "world", -2}}) pieces.push_back(p);
  const auto sp = make(proto::model(pieces));
  EXPECT_EQ(sp.decode_pieces({kWs + "he", "llo", kWs + "world"}), "hello world");
  // <s> is a control piece (nothing), <unk> prints the unk surface " ⁇ ", an unknown string itself.
  EXPECT_EQ(sp.decode_pieces({"<s>", kWs + "he", "<unk>", "zz", "</s>"}), "he \xe2\x81\x87 zz");
  EXPECT_EQ(sp.decode_ids({3, 4}), "hello");
  EXPECT_THROW(sp.decode_ids({6}), textune::DataError);
}

TEST(SentencePieceReal, MatchesTheSentencePieceLibrary) {
  // Pieces and ids from google's sentencepiece (Python binding) on opus-mt-uk-en source.spm.
  const auto sp = SentencePieceProcessor::load(textune::testing::data_dir() + "/vocab/opus-mt-uk-en/source.spm");
  struct Case {
    const char* text;
    Pieces pieces;
    std::vector<int32_t> ids;
  };
  const Case cases[] = {
      {"ＡＢＣ１２３ fullwidth",
       {kWs + "A", "B", "C", "12", "3", kWs + "f", "ull", "w", "id", "th"},
       {1008, 2018, 834, 3422, 699, 2226, 21168, 1589, 3484, 2439}},
      {"ﬁne  ligature", {kWs + "f", "ine", kWs + "li", "ga", "ture"}, {2226, 7900, 11976, 17698, 19605}},
      {"  x\xc2\xa0y  ", {kWs + "x", kWs + "y"}, {2009, 4649}},
      {"e\xcc\x81 \xc3\xa9", {kWs, "\xc3\xa9", kWs, "\xc3\xa9"}, {29, 16446, 29, 16446}},
      {"\xe3\x80\x80" "a\xe2\x80\x8b" "b", {kWs + "a", kWs + "b"}, {1148, 1697}},
      {"\xe2\x85\xab \xc2\xbd", {kWs + "XII", kWs + "1", "\xe2\x81\x84", "2"}, {24891, 129, 31694, 703}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sp->encode_as_pieces(c.text), c.pieces) << c.text;
    EXPECT_EQ(sp->encode_as_ids(c.text), c.ids) << c.text;
  }
}

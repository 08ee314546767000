#include "textune/core/safetensors.h"

#include <filesystem>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"

namespace fs = std::filesystem;
using textune::DataError;
using textune::core::Json;
using textune::core::SafetensorsFile;
using textune::testing::read_text;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

std::vector<std::string> fixture_safetensors() {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(textune::testing::fixtures_dir() + "/models"))
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The header as the file states it, parsed independently of SafetensorsFile.
Json raw_header(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  return Json::parse(bytes.substr(8, n));
}

std::string with_header(const std::string& header_json, const std::string& buffer) {
  std::string h = header_json;
  std::string out;
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + h + buffer;
}

// Expects opening `bytes` to fail with a DataError whose message contains `needle`.
void expect_corrupt(const std::string& bytes, const std::string& needle) {
  TempDir tmp;
  const std::string path = tmp / "bad.safetensors";
  write_text(path, bytes);
  try {
    SafetensorsFile::open(path);
    FAIL() << "expected an error containing \"" << needle << "\"";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "message must name the file: " << e.what();
    EXPECT_EQ(e.exit_code(), 1);
  }
}

}  // namespace

TEST(Safetensors, EveryFixtureReadsBackWithItsHeader) {
  auto files = fixture_safetensors();
  ASSERT_GE(files.size(), 50u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    const std::string bytes = read_text(path);
    Json header = raw_header(bytes);
    auto f = SafetensorsFile::open(path);
    size_t count = 0;
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      ASSERT_TRUE(f.contains(it.key())) << it.key();
      const auto& info = f.info(it.key());
      EXPECT_EQ(info.dtype, it.value()["dtype"].get<std::string>());
      EXPECT_EQ(info.shape, it.value()["shape"].get<std::vector<int64_t>>());
      torch::Tensor t = f.get(it.key());
      EXPECT_EQ(t.sizes().vec(), info.shape);
      EXPECT_EQ(textune::core::safetensors_dtype(t.scalar_type()), info.dtype);
      ++count;
    }
    EXPECT_EQ(count, f.tensors().size());
  }
}

TEST(Safetensors, TensorBytesAreTheFileBytes) {
  const std::string path = textune::testing::model_fixture("bert-seqcls") + "/model.safetensors";
  const std::string bytes = read_text(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  Json header = raw_header(bytes);
  auto f = SafetensorsFile::open(path);
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    auto off = it.value()["data_offsets"];
    const std::string expected = bytes.substr(8 + n + off[0].get<size_t>(), off[1].get<size_t>() - off[0].get<size_t>());
    torch::Tensor t = f.get(it.key()).contiguous();
    ASSERT_EQ(std::string(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size()), expected) << it.key();
  }
  ASSERT_EQ(f.metadata().size(), 1u);
  EXPECT_EQ(f.metadata()[0].first, "format");
  EXPECT_EQ(f.metadata()[0].second, "pt");
}

TEST(Safetensors, RoundTripIsByteIdentical) {
  for (const auto& path : fixture_safetensors()) {
    SCOPED_TRACE(path);
    auto f = SafetensorsFile::open(path);
    const std::string written = textune::core::serialize_safetensors(f.all(), f.metadata());
    ASSERT_TRUE(written == read_text(path));
  }
}

TEST(Safetensors, PretrainedOrderMatchesSavePretrained) {
  // save_pretrained's file lists tensors sorted by name; writing them shuffled reproduces it.
  const std::string path = textune::testing::model_fixture("bert-seqcls") + "/model.safetensors";
  auto f = SafetensorsFile::open(path);
  auto tensors = f.all();
  std::reverse(tensors.begin(), tensors.end());
  TempDir tmp;
  textune::core::save_safetensors_pretrained(tmp / "m.safetensors", tensors);
  EXPECT_TRUE(read_text(tmp / "m.safetensors") == read_text(path));
}

TEST(Safetensors, WritesEveryDtypeAndReadsItBack) {
  TempDir tmp;
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"f32", torch::arange(6, torch::kFloat32).reshape({2, 3})},
      {"f16", torch::tensor({1.5, -2.0}).to(torch::kFloat16)},
      {"bf16", torch::tensor({0.25, 3.0, 7.0}).to(torch::kBFloat16)},
      {"i64", torch::tensor(std::vector<int64_t>{1, -2, int64_t{1} << 40})},
      {"i32", torch::tensor({7, -8}, torch::kInt32)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5f)},
  };
  textune::core::save_safetensors(tmp / "t.safetensors", tensors, {{"format", "pt"}, {"note", "x"}});
  const std::string bytes = read_text(tmp / "t.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u) << "header must be padded to a multiple of 8";
  Json header = raw_header(bytes);
  EXPECT_EQ(header["__metadata__"]["note"], "x");
  EXPECT_EQ(header["bf16"]["dtype"], "BF16");
  EXPECT_EQ(header["bool"]["dtype"], "BOOL");
  EXPECT_EQ(header["scalar"]["shape"].size(), 0u);
  auto f = SafetensorsFile::open(tmp / "t.safetensors");
  for (const auto& [name, t] : tensors) {
    torch::Tensor back = f.get(name);
    EXPECT_EQ(back.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(back, t)) << name;
  }
}

TEST(SafetensorsCorrupt, TooShortForHeaderLength) { expect_corrupt("abc", "shorter than the 8-byte header length"); }

TEST(SafetensorsCorrupt, HeaderLengthBeyondFile) {
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(0xff);
  bytes[1] = static_cast<char>(0xff);
  expect_corrupt(bytes + "{}", "header length 65535 runs past the end");
}

TEST(SafetensorsCorrupt, HugeHeaderLength) {
  expect_corrupt(std::string(8, '\xff') + "{}", "runs past the end");
}

TEST(SafetensorsCorrupt, InvalidJson) { expect_corrupt(with_header("{\"a\": [1,", ""), "header is not valid JSON"); }

TEST(SafetensorsCorrupt, HeaderNotAnObject) { expect_corrupt(with_header("[1,2]   ", ""), "header is not a JSON object"); }

TEST(SafetensorsCorrupt, OffsetsPastEnd) {
  expect_corrupt(with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')),
                 "data_offsets [0, 16] run past the end of the 8-byte data buffer");
}

TEST(SafetensorsCorrupt, OverlappingOffsets) {
  expect_corrupt(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             std::string(12, '\0')),
                 "overlapping data_offsets");
}

TEST(SafetensorsCorrupt, UnknownDtype) {
  expect_corrupt(with_header(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", std::string(2, '\0')),
                 "unknown dtype \"Q4\"");
}

TEST(SafetensorsCorrupt, ShapeDoesNotMatchBytes) {
  expect_corrupt(with_header(R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", std::string(16, '\0')),
                 "has shape [3,2] of F32 (24 bytes) but data_offsets span 16 bytes");
}

TEST(SafetensorsCorrupt, BeginAfterEnd) {
  expect_corrupt(with_header(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", std::string(8, '\0')),
                 "begin after end");
}

TEST(SafetensorsCorrupt, MissingFields) {
  expect_corrupt(with_header(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", std::string(4, '\0')),
                 "no \"shape\" array");
  expect_corrupt(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-1,4]}})", std::string(4, '\0')),
                 "data_offsets");
}

TEST(SafetensorsCorrupt, MissingFileIsClearError) {
  try {
    SafetensorsFile::open("/nonexistent/x.safetensors");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open /nonexistent/x.safetensors"), std::string::npos);
  }
}

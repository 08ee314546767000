// Corrupted and hostile safetensors files (issue 11): each is a DataError naming the file, none
// crashes, each is bounded in time. Format: safetensors/src/tensor.rs (u64 little-endian header
// length, JSON header, data buffer; MAX_HEADER_SIZE 100,000,000).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/safetensors.h"

using textune::DataError;
using textune::core::SafetensorsFile;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

std::string le64(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out;
}

std::string file_bytes(const std::string& header, const std::string& buffer) {
  return le64(header.size()) + header + buffer;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Opening `bytes` fails within `max_seconds` with a DataError (exit 1) naming the file and saying `needle`.
void expect_corrupt(const std::string& bytes, const std::string& needle, double max_seconds = 5.0) {
  TempDir tmp;
  const std::string path = tmp / "bad.safetensors";
  write_text(path, bytes);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "expected an error containing \"" << needle << "\"";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_NE(what.find(path), std::string::npos) << "must name the file: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    EXPECT_EQ(e.exit_code(), 1);
  }
  EXPECT_LT(seconds_since(t0), max_seconds) << needle;
}

// A header of n F32 scalars, each 4 bytes, laid end to end.
std::string many_tensors_header(size_t n) {
  std::string h = "{";
  for (size_t i = 0; i < n; ++i)
    h += (i ? "," : "") +
         ("\"layer." + std::to_string(i) + ".weight\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[") +
         std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
  return h + "}";
}

}  // namespace

// Before: 38 s in `textune info` (nlohmann's ordered_json parse is quadratic in the keys).
TEST(SafetensorsAttack, HundredThousandTensorsOpenInLinearTime) {
  TempDir tmp;
  const size_t n = 100000;
  write_text(tmp / "many.safetensors", file_bytes(many_tensors_header(n), std::string(4 * n, '\0')));
  const auto t0 = std::chrono::steady_clock::now();
  const SafetensorsFile f = SafetensorsFile::open(tmp / "many.safetensors");
  EXPECT_LT(seconds_since(t0), 5.0);
  ASSERT_EQ(f.tensors().size(), n);
  EXPECT_EQ(f.tensors()[0].name, "layer.0.weight");
  EXPECT_EQ(f.info("layer.99999.weight").begin, 4 * (n - 1));
}

TEST(SafetensorsAttack, TruncatedDataBuffer) {
  const std::string h = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  expect_corrupt(file_bytes(h, std::string(10, '\0')), "run past the end of the 10-byte data buffer");
  expect_corrupt(file_bytes(h, "").substr(0, 20), "runs past the end of the 20-byte file");
  expect_corrupt(le64(8).substr(0, 5), "shorter than the 8-byte header length");
}

// The crate refuses a header above 100,000,000 bytes (HeaderTooLarge) before reading it; a sparse
// file of that size costs no disk.
TEST(SafetensorsAttack, HeaderAboveTheFormatLimit) {
  TempDir tmp;
  const std::string path = tmp / "huge.safetensors";
  write_text(path, le64(100000001) + "{");
  ASSERT_EQ(::truncate(path.c_str(), 8 + 100000001 + 16), 0);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("header length 100000001 is above the format's limit of 100000000 bytes"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_LT(seconds_since(t0), 2.0);
}

TEST(SafetensorsAttack, NotANumberAndInfiniteHeaderNumbers) {
  expect_corrupt(file_bytes(R"({"w":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}})", "xxxx"),
                 "header is not valid JSON (header:1:30: invalid JSON");
  expect_corrupt(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e999]}})", "xxxx"),
                 "the number 1e999 is out of range");
  expect_corrupt(file_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0.0,4.0]}})", "xxxx"),
                 "has no \"data_offsets\" pair of non-negative integers");
  expect_corrupt(file_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "xxxx"),
                 "shape entry that is not a non-negative integer");
}

TEST(SafetensorsAttack, DeeplyNestedHeader) {
  expect_corrupt(file_bytes("{\"__metadata__\":" + std::string(100000, '['), ""), "JSON nested deeper than 64 levels");
}

TEST(SafetensorsAttack, OverlappingAndDuplicateEntries) {
  expect_corrupt(file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                            std::string(12, '\0')),
                 "have overlapping data_offsets");
  // JSON with a repeated key: the last entry stands (as serde_json's map would keep one).
  TempDir tmp;
  write_text(tmp / "dup.safetensors", file_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                                 R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                                 std::string(8, '\0')));
  const SafetensorsFile f = SafetensorsFile::open(tmp / "dup.safetensors");
  ASSERT_EQ(f.tensors().size(), 1u);
  EXPECT_EQ(f.info("a").shape, (std::vector<int64_t>{2}));
}

TEST(SafetensorsAttack, ImpossibleShapeProduct) {
  expect_corrupt(file_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", "xxxx"),
                 "impossibly large shape");
}

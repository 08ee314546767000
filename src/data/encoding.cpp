// Text encodings of dataset files: decode_text (iconv from glibc) and the check that tells a UTF-16,
// UTF-32 or binary file from UTF-8 when no encoding was given.
#include <iconv.h>

#include <cctype>
#include <cerrno>
#include <memory>

#include <fmt/format.h>

#include "data/internal.h"
#include "textune/core/error.h"
#include "textune/data/table.h"

namespace textune::data {

namespace {

/// "UTF-16_LE" -> "utf16le": the spelling-free key Python's codecs also match on.
std::string normalize(const std::string& name) {
  std::string n;
  for (char c : name)
    if (c != '-' && c != '_' && c != ' ') n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s).substr(0, prefix.size()) == prefix;
}

/// The encoding a byte order mark announces, and its length; empty when there is none.
std::pair<std::string, size_t> bom_encoding(const std::string& s) {
  // UTF-32 first: its little-endian mark begins with UTF-16's.
  if (starts_with(s, std::string_view("\xFF\xFE\x00\x00", 4))) return {"UTF-32LE", 4};
  if (starts_with(s, std::string_view("\x00\x00\xFE\xFF", 4))) return {"UTF-32BE", 4};
  if (starts_with(s, "\xFF\xFE")) return {"UTF-16LE", 2};
  if (starts_with(s, "\xFE\xFF")) return {"UTF-16BE", 2};
  return {"", 0};
}

/// Without --encoding: a UTF-16/32 or binary file is an error that says what the file is.
void check_utf8_text(const std::string& bytes, const std::string& source) {
  if (auto [enc, n] = bom_encoding(bytes); n > 0) {
    const std::string option = enc.substr(0, 6) == "UTF-16" ? "utf-16" : "utf-32";
    throw DataError(
        fmt::format("{}: the file is {} text (it begins with a {} byte order mark), not UTF-8: pass --encoding {} "
                    "(or save it as UTF-8)",
                    source, enc, enc, option));
  }
  const size_t n = std::min<size_t>(bytes.size(), 64 * 1024);
  size_t nul = 0, nul_odd = 0, nul_even = 0;
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != '\0') continue;
    ++nul;
    (i % 2 ? nul_odd : nul_even) += 1;
  }
  if (nul == 0 || nul * 10 < n) return;
  // ASCII text in UTF-16LE has its NUL bytes at odd offsets, in UTF-16BE at even ones; UTF-32 has
  // three NUL bytes per character.
  if (nul * 10 >= n * 6) {
    throw DataError(fmt::format(
        "{}: {} of the first {} bytes are NUL bytes: the file looks like UTF-32 text (pass --encoding utf-32le or "
        "utf-32be) or is not a text file at all",
        source, nul, n));
  }
  if (nul_odd * 10 >= nul * 9 || nul_even * 10 >= nul * 9) {
    const std::string enc = nul_odd > nul_even ? "utf-16le" : "utf-16be";
    throw DataError(
        fmt::format("{}: {} of the first {} bytes are NUL bytes: the file looks like {} text without a byte order "
                    "mark, not UTF-8: pass --encoding {} (or save it as UTF-8)",
                    source, nul, n, enc == "utf-16le" ? "UTF-16LE" : "UTF-16BE", enc));
  }
  throw DataError(
      fmt::format("{}: {} of the first {} bytes are NUL bytes: not a text file (expected UTF-8 CSV, TSV or JSON text)",
                  source, nul, n));
}

struct IconvCloser {
  void operator()(void* cd) const { iconv_close(static_cast<iconv_t>(cd)); }
};

/// Line (1-based) and column (characters, 1-based) of the end of decoded UTF-8 text.
std::pair<size_t, size_t> end_position(std::string_view text) {
  size_t line = 1, col = 1;
  for (unsigned char c : text) {
    if (c == '\n') {
      ++line;
      col = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++col;
    }
  }
  return {line, col};
}

/// Converts with iconv; `offset`: the byte offset of `input` in the file, for messages.
std::string convert(const std::string& input, size_t offset, const std::string& from, const std::string& shown,
                    const std::string& source) {
  iconv_t raw = iconv_open("UTF-8", from.c_str());
  if (raw == reinterpret_cast<iconv_t>(-1))
    throw UsageError(fmt::format(
        "unknown encoding \"{}\" (expected utf-8, utf-8-sig, utf-16, utf-16le, utf-16be, utf-32, latin-1, cp1252, "
        "or another name iconv knows, such as gb18030 or big5)",
        shown));
  std::unique_ptr<void, IconvCloser> cd(raw);
  std::string out;
  out.resize(input.size() + input.size() / 2 + 16);
  char* in = const_cast<char*>(input.data());
  size_t in_left = input.size();
  size_t done = 0;
  for (;;) {
    char* dst = out.data() + done;
    size_t out_left = out.size() - done;
    const size_t rc = iconv(static_cast<iconv_t>(cd.get()), &in, &in_left, &dst, &out_left);
    done = out.size() - out_left;
    if (rc != static_cast<size_t>(-1)) {
      if (in_left == 0) break;
      continue;
    }
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    const size_t at = input.size() - in_left;
    const auto [line, col] = end_position(std::string_view(out.data(), done));
    std::string shown_bytes;
    for (size_t k = at; k < std::min(input.size(), at + 4); ++k)
      shown_bytes += fmt::format("{}{:02X}", shown_bytes.empty() ? "0x" : " 0x", static_cast<unsigned char>(input[k]));
    if (errno == EINVAL)
      throw DataError(
          fmt::format("{}: line {}, column {} (byte {}): the file ends inside a character ({}); not "
                      "valid {} text",
                      source, line, col, offset + at, shown_bytes, shown));
    throw DataError(
        fmt::format("{}: line {}, column {} (byte {}): bytes {} are not valid {} (is the file in another "
                    "encoding? pass the right --encoding)",
                    source, line, col, offset + at, shown_bytes, shown));
  }
  out.resize(done);
  return out;
}

}  // namespace

std::string decode_text(std::string bytes, const std::string& encoding, const std::string& source) {
  const std::string n = normalize(encoding);
  if (n.empty()) {
    check_utf8_text(bytes, source);
    return bytes;
  }
  if (n == "utf8") return bytes;  // invalid bytes are reported per cell, with row and column
  if (n == "utf8sig") {
    if (starts_with(bytes, "\xEF\xBB\xBF")) bytes.erase(0, 3);
    return bytes;
  }
  if (n == "utf16" || n == "utf32") {
    // Python: the byte order from the BOM (which is dropped), little-endian without one.
    auto [enc, skip] = bom_encoding(bytes);
    if (skip > 0 && enc.substr(0, 6) != (n == "utf16" ? "UTF-16" : "UTF-32"))
      throw DataError(fmt::format("{}: the file begins with a {} byte order mark, not {}: pass --encoding {}", source,
                                  enc, encoding, n == "utf16" ? "utf-32" : "utf-16"));
    if (skip == 0) enc = n == "utf16" ? "UTF-16LE" : "UTF-32LE";
    return convert(bytes.substr(skip), skip, enc, encoding, source);
  }
  std::string iconv_name = encoding;
  if (n == "latin1" || n == "latin" || n == "l1" || n == "iso88591") iconv_name = "ISO-8859-1";
  if (n == "cp1252" || n == "windows1252") iconv_name = "CP1252";
  if (n == "utf16le") iconv_name = "UTF-16LE";
  if (n == "utf16be") iconv_name = "UTF-16BE";
  if (n == "utf32le") iconv_name = "UTF-32LE";
  if (n == "utf32be") iconv_name = "UTF-32BE";
  return convert(bytes, 0, iconv_name, encoding, source);
}

}  // namespace textune::data

// Helpers shared by the data layer's sources (not a public header).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "textune/core/json.h"
#include "textune/data/table.h"

namespace textune::data::internal {

/// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);
/// Byte offset of the first byte that is not part of a well-formed UTF-8 sequence; npos when none.
size_t first_invalid_utf8(std::string_view s);
/// `s` with every invalid byte replaced by U+FFFD, for printing.
std::string sanitize_utf8(std::string_view s);

/// A JSON scalar as text: a whole number without a fraction ("5"), other numbers in the shortest form
/// that reads back to the same double ("0.1"), booleans "true"/"false", strings unchanged, arrays and
/// objects as compact JSON.
std::string json_scalar_to_string(const core::Json& value);

/// Reads one sheet of an .xlsx workbook (xlsx.cpp): options.sheet, has_header, xlsx_max_part_bytes.
Table read_xlsx(const std::string& path, const ReadOptions& options);
/// Writes a one-sheet workbook (xlsx.cpp).
void write_xlsx(const std::string& path, const Table& table, const WriteOptions& options);

}  // namespace textune::data::internal

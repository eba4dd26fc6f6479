// json_text.h -- extracts one top-level string field from a JSON object (one JSONL line).
// A small, strict RFC 8259 reader: the whole line must be one JSON object; other fields are
// parsed and skipped (nested objects/arrays, numbers, literals); the wanted string is decoded
// with every escape (\" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs -> one UTF-8 sequence).
// Lone surrogates, raw control characters and trailing garbage are errors.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace plinth::io {

enum class JsonFieldStatus { Found, Missing, NotString };

struct JsonField {
  JsonFieldStatus status = JsonFieldStatus::Missing;
  std::string value;   // decoded UTF-8 when status == Found
};

// Finds `key` among the members of the object in `json` (the last occurrence wins, as in
// Python's json module). Malformed JSON throws plinth::Error(Input) starting with `where`
// (e.g. "data.jsonl:12") and giving the column.
JsonField json_string_field(std::string_view json, std::string_view key, const std::string& where);

// Appends the UTF-8 encoding of a code point (<= 0x10FFFF, not a surrogate) to `out`.
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace plinth::io

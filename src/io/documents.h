// documents.h -- turning input files into documents for corpus preparation.
// Inputs are files, directories (their regular, non-hidden files) or glob(3) patterns; each
// pattern's matches are sorted, patterns keep their order, duplicates are dropped. A file is
// plain text (one document per file, or documents separated by lines exactly equal to a
// separator such as "%") or JSONL (one JSON object per line with a "text" string field).
// Documents with no non-whitespace byte are skipped.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::io {

enum class InputFormat { Auto, Text, Jsonl };   // Auto: *.jsonl / *.json -> Jsonl, else Text

const char* input_format_name(InputFormat format);             // "auto" | "text" | "jsonl"
InputFormat input_format_parse(const std::string& name);       // Config error naming the value
InputFormat input_format_resolve(InputFormat format, const std::string& path);   // never Auto

// The input files, in order. Input error naming the pattern when one matches nothing, and when
// nothing is left after excluding names ending in one of `exclude_suffixes`.
std::vector<std::string> expand_inputs(const std::vector<std::string>& patterns,
                                       const std::vector<std::string>& exclude_suffixes);

bool is_blank(std::string_view text);   // only ' ', \t, \n, \r, \v, \f

// Calls `fn` with each non-blank document of `contents`, the bytes of file `path`.
// Text: `separator` empty -> the whole file is one document; else a line (without its '\n' and
// an optional trailing '\r') equal to `separator` ends the current document; documents keep
// their bytes exactly, including line ends. Jsonl: a line lacking a "text" string field, or not
// a JSON object, is an Input error naming "path:line"; blank lines are skipped.
void split_documents(const std::string& path, std::string_view contents, InputFormat format,
                     const std::string& separator, const std::function<void(std::string_view)>& fn);

}  // namespace plinth::io

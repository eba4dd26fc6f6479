// documents.cpp -- input expansion (glob, directories, exclusions) and document splitting.
// Splitting works on a file's bytes held in memory and hands each document to a callback as a
// string_view: into those bytes for text, into the decoded "text" value for JSONL.
#include "io/documents.h"

#include <glob.h>

#include <set>

#include "core/error.h"
#include "io/fs_util.h"
#include "io/json_text.h"

namespace plinth::io {

const char* input_format_name(InputFormat format) {
  switch (format) {
    case InputFormat::Auto: return "auto";
    case InputFormat::Text: return "text";
    case InputFormat::Jsonl: return "jsonl";
  }
  return "auto";
}

InputFormat input_format_parse(const std::string& name) {
  if (name == "auto") return InputFormat::Auto;
  if (name == "text") return InputFormat::Text;
  if (name == "jsonl") return InputFormat::Jsonl;
  PLINTH_THROW(Config, "unknown input format '", name, "' (expected auto, text or jsonl)");
}

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string base_name(const std::string& path) {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}
}  // namespace

InputFormat input_format_resolve(InputFormat format, const std::string& path) {
  if (format != InputFormat::Auto) return format;
  return ends_with(path, ".jsonl") || ends_with(path, ".json") ? InputFormat::Jsonl : InputFormat::Text;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& patterns,
                                       const std::vector<std::string>& exclude_suffixes) {
  PLINTH_CHECK(!patterns.empty(), Config, "no input files or patterns given");
  auto excluded = [&](const std::string& path) {
    std::string name = base_name(path);
    for (const auto& s : exclude_suffixes)
      if (!s.empty() && ends_with(name, s)) return true;
    return false;
  };
  std::vector<std::string> files;
  std::set<std::string> seen;
  auto add = [&](const std::string& path) {
    if (!excluded(path) && seen.insert(path).second) files.push_back(path);
  };
  for (const std::string& pattern : patterns) {
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_TILDE, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    PLINTH_CHECK(rc == 0 || rc == GLOB_NOMATCH, Io, "cannot expand input pattern '", pattern, "' (glob error ", rc, ")");
    PLINTH_CHECK(!matches.empty(), Input, "no input matched '", pattern, "'");
    for (const std::string& m : matches) {   // glob(3) sorts its matches
      if (is_directory(m)) {
        for (const std::string& name : list_dir(m)) {
          std::string p = m + (m.back() == '/' ? "" : "/") + name;
          if (name[0] != '.' && is_regular_file(p)) add(p);
        }
      } else {
        PLINTH_CHECK(is_regular_file(m), Input, "input '", m, "' is not a regular file");
        add(m);
      }
    }
  }
  if (files.empty()) {
    std::string all;
    for (const auto& p : patterns) all += (all.empty() ? "'" : ", '") + p + "'";
    PLINTH_THROW(Input, "no input files left after excluding suffixes (patterns: ", all, ")");
  }
  return files;
}

bool is_blank(std::string_view text) {
  for (char c : text)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return false;
  return true;
}

namespace {

void split_text(std::string_view contents, const std::string& separator,
                const std::function<void(std::string_view)>& fn) {
  if (separator.empty()) {
    if (!is_blank(contents)) fn(contents);
    return;
  }
  size_t doc_start = 0, pos = 0;
  while (pos < contents.size()) {
    size_t nl = contents.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? contents.size() : nl;
    size_t next = nl == std::string_view::npos ? contents.size() : nl + 1;
    std::string_view line = contents.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == separator) {
      std::string_view doc = contents.substr(doc_start, pos - doc_start);
      if (!is_blank(doc)) fn(doc);
      doc_start = next;
    }
    pos = next;
  }
  std::string_view last = contents.substr(doc_start);
  if (!is_blank(last)) fn(last);
}

void split_jsonl(const std::string& path, std::string_view contents,
                 const std::function<void(std::string_view)>& fn) {
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < contents.size()) {
    size_t nl = contents.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? contents.size() : nl;
    std::string_view line = contents.substr(pos, line_end - pos);
    pos = nl == std::string_view::npos ? contents.size() : nl + 1;
    ++line_no;
    if (is_blank(line)) continue;
    std::string where = str_cat(path, ":", line_no);
    JsonField f = json_string_field(line, "text", where);
    PLINTH_CHECK(f.status != JsonFieldStatus::Missing, Input, where, ": JSON object has no \"text\" field");
    PLINTH_CHECK(f.status == JsonFieldStatus::Found, Input, where, ": the \"text\" field is not a string");
    if (!is_blank(f.value)) fn(f.value);
  }
}

}  // namespace

void split_documents(const std::string& path, std::string_view contents, InputFormat format,
                     const std::string& separator, const std::function<void(std::string_view)>& fn) {
  if (input_format_resolve(format, path) == InputFormat::Jsonl) {
    split_jsonl(path, contents, fn);
  } else {
    split_text(contents, separator, fn);
  }
}

}  // namespace plinth::io

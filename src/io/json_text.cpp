// json_text.cpp -- the strict single-field JSON reader behind JSONL corpus input.
// Recursive descent over the line with a nesting limit of 256; only the wanted field is decoded,
// every other value is validated and skipped. Errors give the 1-based byte column.
#include "io/json_text.h"

#include <cstdint>

#include "core/error.h"

namespace plinth::io {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

constexpr int kMaxDepth = 256;

class Reader {
 public:
  Reader(std::string_view s, const std::string& where) : s_(s), where_(where) {}

  JsonField field(std::string_view key) {
    JsonField result;
    ws();
    expect('{', "a JSON object");
    ws();
    if (peek() == '}') {
      ++i_;
    } else {
      while (true) {
        ws();
        if (peek() != '"') fail("expected a member name string");
        std::string name = string_value();
        ws();
        expect(':', "':'");
        ws();
        if (name == key) {
          if (peek() == '"') {
            result.status = JsonFieldStatus::Found;
            result.value = string_value();
          } else {
            result.status = JsonFieldStatus::NotString;
            result.value.clear();
            skip_value(1);
          }
        } else {
          skip_value(1);
        }
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}', "',' or '}'");
        break;
      }
    }
    ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON object");
    return result;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    PLINTH_THROW(Input, where_, ": malformed JSON at column ", i_ + 1, ": ", what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool at_end() const { return i_ >= s_.size(); }
  void ws() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c, const char* what) {
    if (at_end() || s_[i_] != c) fail(std::string("expected ") + what);
    ++i_;
  }

  uint32_t hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  // Decodes the string starting at the current '"'.
  std::string string_value() {
    expect('"', "'\"'");
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("raw control character in string (must be escaped)");
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        continue;
      }
      if (at_end()) fail("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u')
              fail("high surrogate not followed by a \\u low surrogate");
            i_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(std::string("unknown escape \\") + e);
      }
    }
  }

  void skip_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 256");
    char c = peek();
    if (c == '"') {
      string_value();
    } else if (c == '{') {
      ++i_;
      ws();
      if (peek() == '}') {
        ++i_;
        return;
      }
      while (true) {
        ws();
        if (peek() != '"') fail("expected a member name string");
        string_value();
        ws();
        expect(':', "':'");
        ws();
        skip_value(depth + 1);
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}', "',' or '}'");
        return;
      }
    } else if (c == '[') {
      ++i_;
      ws();
      if (peek() == ']') {
        ++i_;
        return;
      }
      while (true) {
        ws();
        skip_value(depth + 1);
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']', "',' or ']'");
        return;
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      number();
    } else if (s_.substr(i_, 4) == "true" || s_.substr(i_, 4) == "null") {
      i_ += 4;
    } else if (s_.substr(i_, 5) == "false") {
      i_ += 5;
    } else {
      fail("expected a JSON value");
    }
  }

  void digits() {
    if (at_end() || s_[i_] < '0' || s_[i_] > '9') fail("expected a digit");
    while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
  }

  void number() {
    if (peek() == '-') ++i_;
    if (peek() == '0') ++i_;
    else digits();
    if (peek() == '.') {
      ++i_;
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      digits();
    }
  }

  std::string_view s_;
  const std::string& where_;
  size_t i_ = 0;
};

}  // namespace

JsonField json_string_field(std::string_view json, std::string_view key, const std::string& where) {
  return Reader(json, where).field(key);
}

}  // namespace plinth::io

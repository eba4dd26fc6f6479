// test_json_text.cpp -- the JSONL "text" field extractor: escapes, surrogate pairs, skipping
// of nested values, and malformed input reported with file:line and column.
// Pure string tests: no files are touched.
#include <gtest/gtest.h>

#include "io/json_text.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;

std::string text_of(const std::string& json) {
  JsonField f = json_string_field(json, "text", "t.jsonl:1");
  EXPECT_EQ(f.status, JsonFieldStatus::Found) << json;
  return f.value;
}

TEST(JsonText, DecodesEveryEscape) {
  EXPECT_EQ(text_of(R"({"text": "a\nb\t\"q\" \\ \/ \b\f\r"})"), "a\nb\t\"q\" \\ / \b\f\r");
  EXPECT_EQ(text_of(R"({"text":"\u00e9\u4e2d\ud83d\ude00\u0041"})"), "é中😀A");
  EXPECT_EQ(text_of(R"({"text":"raw UTF-8 ü stays"})"), "raw UTF-8 ü stays");
  EXPECT_EQ(text_of(R"({"text":""})"), "");
}

TEST(JsonText, SkipsOtherMembersOfAnyType) {
  std::string line =
      R"( {"id": -12.5e+3, "meta": {"text": "nested, not top-level", "a": [1, [true, false, null], {}]},)"
      R"( "x": "has \"text\": inside", "text": "top", "tail": []} )";
  EXPECT_EQ(text_of(line), "top");
  EXPECT_EQ(json_string_field(R"({"a": 1})", "text", "f").status, JsonFieldStatus::Missing);
  EXPECT_EQ(json_string_field(R"({"text": 5})", "text", "f").status, JsonFieldStatus::NotString);
  EXPECT_EQ(json_string_field("{}", "text", "f").status, JsonFieldStatus::Missing);
  EXPECT_EQ(text_of(R"({"text": "first", "text": "last"})"), "last");
}

TEST(JsonText, MalformedInputNamesLocation) {
  expect_error([] { json_string_field(R"({"text": "abc)", "text", "data.jsonl:7"); }, ErrorKind::Input,
               {"data.jsonl:7", "unterminated"});
  expect_error([] { json_string_field(R"({"text": "\ud83d x"})", "text", "f:2"); }, ErrorKind::Input,
               {"f:2", "surrogate"});
  expect_error([] { json_string_field(R"({"text": "\udc00"})", "text", "f:3"); }, ErrorKind::Input, {"surrogate"});
  expect_error([] { json_string_field(R"({"text": "a"} x)", "text", "f:4"); }, ErrorKind::Input,
               {"f:4", "column 15", "after the JSON object"});
  expect_error([] { json_string_field(R"(["text"])", "text", "f:5"); }, ErrorKind::Input, {"JSON object"});
  expect_error([] { json_string_field("{\"text\": \"tab\there\"}", "text", "f:6"); }, ErrorKind::Input,
               {"control character"});
  expect_error([] { json_string_field(R"({"text": "\x"})", "text", "f:7"); }, ErrorKind::Input, {"escape"});
  expect_error([] { json_string_field(R"({"a": 01})", "text", "f:8"); }, ErrorKind::Input, {"f:8"});
  expect_error([] { json_string_field(R"({"a": tru})", "text", "f:9"); }, ErrorKind::Input, {"f:9"});
}

TEST(JsonText, Utf8Encoder) {
  std::string s;
  append_utf8(s, 0x24);
  append_utf8(s, 0xA2);
  append_utf8(s, 0x20AC);
  append_utf8(s, 0x10348);
  EXPECT_EQ(s, "$\xC2\xA2\xE2\x82\xAC\xF0\x90\x8D\x88");
}

}  // namespace
}  // namespace plinth::io

// Tests of daemoneye/ipc/utf8.hpp: valid text passes through untouched, and
// every kind of invalid sequence becomes U+FFFD, leaving valid UTF-8.
#include "daemoneye/ipc/utf8.hpp"

#include <string>

#include <gtest/gtest.h>

namespace daemoneye::ipc {
namespace {

/// U+FFFD, the replacement character.
std::string fffd() { return "\xEF\xBF\xBD"; }

TEST(Utf8, ValidTextIsCopiedUnchanged) {
  for (const std::string text :
       {"", "sshd", "/usr/bin/python3.11", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x90\xA7"}) {
    EXPECT_TRUE(is_valid_utf8(text)) << text;
    EXPECT_EQ(to_utf8(text), text);
  }
}

// The expectations are String::from_utf8_lossy's (checked against rustc):
// one U+FFFD per maximal subpart of an ill-formed sequence.
TEST(Utf8, EachMaximalIllFormedSubsequenceBecomesOneReplacementCharacterAsInRust) {
  struct example {
    std::string raw;
    std::string repaired;
  };
  const example examples[] = {
      {std::string("a\xFF") + "b", "a" + fffd() + "b"},          // a byte that never starts a character
      {"\xFF\xFE", fffd() + fffd()},                             // two of them
      {"ab\xC3", "ab" + fffd()},                                 // cut at the end (a truncated comm)
      {"\xE2\x82", fffd()},                                      // cut inside a three-byte character
      {"x\xC3(y", "x" + fffd() + "(y"},                          // a lead byte without its continuation
      {"\xC0\xAF", fffd() + fffd()},                             // overlong '/': C0 never starts a character
      {"\xE0\x80\xAF", fffd() + fffd() + fffd()},                // overlong three-byte form
      {"\xED\xA0\x80z", fffd() + fffd() + fffd() + "z"},         // a UTF-16 surrogate, U+D800
      {"\xF4\x90\x80\x80", fffd() + fffd() + fffd() + fffd()},   // beyond U+10FFFF
      {"\xF0\x9F\x90", fffd()},                                  // a four-byte character cut short
      {"\xF0\x9F\x90x", fffd() + "x"},                           // ... followed by more text
      {"ok \xC3\xA9 \x80 ok", "ok \xC3\xA9 " + fffd() + " ok"},  // a stray continuation byte between valid text
  };
  for (const auto& [raw, repaired] : examples) {
    EXPECT_FALSE(is_valid_utf8(raw)) << raw;
    const auto out = to_utf8(raw);
    EXPECT_EQ(out, repaired) << raw;
    EXPECT_TRUE(is_valid_utf8(out)) << out;
  }
}

TEST(Utf8, AssignReplacesWhatTheTargetHeld) {
  std::string out = "something longer than the new text, so its memory is reused";
  assign_utf8(out, "a\xFF");
  EXPECT_EQ(out, "a" + fffd());
  assign_utf8(out, "plain");
  EXPECT_EQ(out, "plain");
}

TEST(Utf8, AssignFromAViewOfTheTargetItself) {
  std::string text = std::string("ab\xFF") + "cd";
  assign_utf8(text, text);
  EXPECT_EQ(text, "ab" + fffd() + "cd");
  assign_utf8(text, std::string_view(text).substr(0, 2));
  EXPECT_EQ(text, "ab");
}

TEST(Utf8, EmbeddedNulIsValidTextAndKept) {
  const std::string raw("a\0b", 3);
  EXPECT_TRUE(is_valid_utf8(raw));
  EXPECT_EQ(to_utf8(raw), raw);
}

}  // namespace
}  // namespace daemoneye::ipc

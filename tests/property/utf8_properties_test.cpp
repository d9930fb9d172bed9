// Laws of the UTF-8 repair (utf8.hpp), checked with RapidCheck on arbitrary
// bytes: the result is always valid, valid text is left as it is, repairing
// twice changes nothing, and a message holding the result always parses.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "daemoneye/ipc/messages.hpp"
#include "daemoneye/ipc/utf8.hpp"

namespace daemoneye::ipc {
namespace {

/// Bytes drawn mostly from the values where UTF-8's rules change (lead bytes,
/// the edges of the continuation ranges), so ill-formed sequences of every
/// kind come up often; plain ASCII in between.
rc::Gen<std::string> gen_bytes() {
  static const std::vector<std::uint8_t> edges{0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                               0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF};
  return rc::gen::container<std::string>(rc::gen::map(
      rc::gen::weightedOneOf<std::uint8_t>({{3, rc::gen::elementOf(edges)}, {1, rc::gen::arbitrary<std::uint8_t>()}}),
      [](std::uint8_t b) { return static_cast<char>(b); }));
}

RC_GTEST_PROP(Utf8Properties, RepairedTextIsValidAndRepairingAgainChangesNothing, ()) {
  const auto raw = *gen_bytes();
  const auto fixed = to_utf8(raw);
  RC_ASSERT(is_valid_utf8(fixed));
  RC_ASSERT(to_utf8(fixed) == fixed);
  if (is_valid_utf8(raw)) RC_ASSERT(fixed == raw);
}

RC_GTEST_PROP(Utf8Properties, AMessageCarryingRepairedTextAlwaysParses, ()) {
  const auto fixed = to_utf8(*gen_bytes());
  ProcessRecord record;
  record.set_name(fixed);
  record.add_command_line(fixed);
  ProcessRecord back;
  RC_ASSERT(back.ParseFromString(record.SerializeAsString()));
  RC_ASSERT(back.name() == fixed);
}

}  // namespace
}  // namespace daemoneye::ipc

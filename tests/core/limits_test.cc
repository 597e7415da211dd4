// Bounds checked before work starts, and messages fit for one line.

#include "core/limits.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/text.h"
#include "tests/test_util.h"

namespace linklab::core {
namespace {

using linklab::testing::ErrorOf;

TEST(Limits, SimulatedSpanIsBoundedInLengthAndSamples) {
  EXPECT_EQ(ErrorOf([] { CheckSimulatedSpan(7 * 86400, 60, "--duration", "--interval"); }), "");
  EXPECT_EQ(ErrorOf([] { CheckSimulatedSpan(kMaxSimulatedSeconds, 60, "--d", "--i"); }), "");
  EXPECT_EQ(ErrorOf([] { CheckSimulatedSpan(1e300, 60, "--duration", "--interval"); }),
            "--duration = 1e+300 s: longer than the limit of 10 years (3.15576e+08 s)");
  EXPECT_EQ(ErrorOf([] { CheckSimulatedSpan(10, 1e-9, "--duration", "--interval"); }),
            "--interval = 1e-09 s: 1e+10 intervals over 10 s, more than the limit of 1e+08; use "
            "a longer interval or a shorter duration");
  EXPECT_EQ(ErrorOf([] { CheckSimulatedSpan(1e8, 1, "--d", "--i"); }), "");
}

TEST(Limits, MemoryBeyondThisMachineIsRefusedSayingHowMuch) {
  const double have = PhysicalMemoryBytes();
  ASSERT_GT(have, 1e8);  // every test machine has more than 100 MB
  EXPECT_EQ(ErrorOf([] { CheckMemory(1e6, "[agent] buffer_size = 1000", "the replay buffer"); }),
            "");
  EXPECT_EQ(ErrorOf([] { CheckMemory(3.2e13, "[agent] buffer_size = 1e12", "the replay buffer"); }),
            "[agent] buffer_size = 1e12: the replay buffer needs 32 TB, this machine has " +
                FormatBytes(have));
  EXPECT_THROW(CheckMemory(std::nan(""), "x", "y"), std::invalid_argument);
}

TEST(Limits, FormatBytesUsesDecimalUnits) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1500), "1.5 kB");
  EXPECT_EQ(FormatBytes(24e9), "24 GB");
  EXPECT_EQ(FormatBytes(3.2e13), "32 TB");
  EXPECT_EQ(FormatBytes(6.8e15), "6.8 PB");
}

TEST(Printable, EscapesControlBytesAndInvalidUtf8AndShortens) {
  EXPECT_EQ(Printable("plain text"), "plain text");
  EXPECT_EQ(Printable("tab\there\x01"), "tab\\x09here\\x01");
  EXPECT_EQ(Printable("caf\xc3\xa9 \xe2\x80\x93 ok"), "caf\xc3\xa9 \xe2\x80\x93 ok");  // UTF-8
  EXPECT_EQ(Printable("\x89HDF\r\n\x1a\n"), "\\x89HDF\\x0d\\x0a\\x1a\\x0a");
  EXPECT_EQ(Printable("\xc3"), "\\xc3");  // a cut-off sequence
  EXPECT_EQ(Printable(std::string(100, 'a'), 10), "aaaaaaaaaa...");
  EXPECT_EQ(Printable(std::string(10, '\x80'), 8), "\\x80\\x80...");
  EXPECT_EQ(ErrorOf([] { ParseInt("1\x02", "[train] total_steps"); }),
            "[train] total_steps = '1\\x02': not an integer");
}

}  // namespace
}  // namespace linklab::core

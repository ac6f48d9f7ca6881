#include <gtest/gtest.h>

#include "server/auth.h"

namespace r1::server {
namespace {

TEST(Auth, ConstantTimeEqualAgreesWithOperatorEq) {
  const std::string_view samples[] = {"", "a", "b", "ab", "abc", "abd", "abcd", std::string_view("a\0c", 3),
                                      std::string_view("a\0d", 3)};
  for (std::string_view a : samples)
    for (std::string_view b : samples) EXPECT_EQ(constant_time_equal(a, b), a == b) << a << " vs " << b;
}

TEST(Auth, BearerHeader) {
  EXPECT_TRUE(bearer_matches("Bearer k3y", "k3y"));
  EXPECT_TRUE(bearer_matches("bearer k3y", "k3y"));  // the scheme is case-insensitive
  EXPECT_FALSE(bearer_matches("Bearer k3Y", "k3y"));  // the key is not
  EXPECT_FALSE(bearer_matches("Bearer k3", "k3y"));
  EXPECT_FALSE(bearer_matches("Bearer k3yy", "k3y"));
  EXPECT_FALSE(bearer_matches("k3y", "k3y"));
  EXPECT_FALSE(bearer_matches("Basic k3y", "k3y"));
  EXPECT_FALSE(bearer_matches("", "k3y"));
  EXPECT_FALSE(bearer_matches("Bearer ", "k3y"));
}

}  // namespace
}  // namespace r1::server

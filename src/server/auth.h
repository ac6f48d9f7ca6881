// API-key checks for `r1 serve --api-key`.
#pragma once

#include <string_view>

namespace r1::server {

// Compares in time that depends only on the lengths, never on where the first difference is, so response timing
// does not reveal how much of a guessed key was right.
bool constant_time_equal(std::string_view a, std::string_view b);

// True when the Authorization header value is "Bearer <key>" (the scheme case-insensitive, as RFC 7235 says).
bool bearer_matches(std::string_view authorization, std::string_view key);

}  // namespace r1::server

// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace pytrace {

// Local time now, ISO 8601 with microseconds and the UTC offset, as the
// trace document writes its timestamps.
std::string iso_time_now();

}  // namespace pytrace

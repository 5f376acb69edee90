// SPDX-License-Identifier: MIT
// Bytes from the ring buffer (or a raw capture) -> typed records.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "core/records.h"

namespace pytrace {

struct DecodeResult {
  std::optional<Record> record;
  std::string error;  // set when record is empty
};

// Validates kind and size; never reads past `bytes`. Strings that are not
// NUL-terminated inside their field are cut at the field's end.
DecodeResult decode_record(std::span<const std::byte> bytes);

}  // namespace pytrace

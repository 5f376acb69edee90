// SPDX-License-Identifier: MIT
// What the tracer needs from the ELF file that carries CPython's probes:
// its USDT notes and the head of its .PyRuntime section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pytrace {

struct UsdtNote {
  std::string provider;
  std::string name;
  uint64_t address = 0;  // virtual address of the probe site
  uint64_t semaphore = 0;
};

struct PythonElf {
  std::string path;
  std::vector<UsdtNote> notes;
  std::optional<uint64_t> runtime_address;    // virtual address of .PyRuntime
  std::vector<uint8_t> runtime_head;          // the section's first bytes
  std::optional<uint64_t> init_shim_address;  // _Py_InitCleanup, the __init__ shim's code
  // Type objects that argument values are told apart by, where exported.
  std::optional<uint64_t> none_type, bool_type, float_type, set_type, cell_type;
  std::optional<uint64_t> long_type, unicode_type, bytes_type, list_type, tuple_type, dict_type;

  std::vector<const UsdtNote*> find(std::string_view provider, std::string_view name) const;
};

// Throws Error when the file cannot be read as ELF.
PythonElf read_python_elf(const std::string& path);

}  // namespace pytrace

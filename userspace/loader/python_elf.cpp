// SPDX-License-Identifier: MIT
#include "loader/python_elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "core/error.h"

namespace pytrace {
namespace {

constexpr size_t kRuntimeHeadBytes = 4096;  // more than _Py_DebugOffsets needs

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

using ElfHandle = std::unique_ptr<Elf, decltype(&elf_end)>;

std::string section_name(Elf* elf, size_t strndx, const GElf_Shdr& shdr) {
  const char* name = elf_strptr(elf, strndx, shdr.sh_name);
  return name ? name : "";
}

// A stapsdt note's descriptor: pc, base, semaphore, then provider, name and
// argument strings (SystemTap's format).
void read_stapsdt_notes(Elf_Data* data, std::optional<uint64_t> base_section, std::vector<UsdtNote>& notes) {
  size_t offset = 0;
  GElf_Nhdr nhdr;
  size_t name_offset, desc_offset;
  while ((offset = gelf_getnote(data, offset, &nhdr, &name_offset, &desc_offset)) > 0) {
    const char* owner = static_cast<const char*>(data->d_buf) + name_offset;
    if (nhdr.n_type != 3 || nhdr.n_namesz != sizeof("stapsdt") || std::strcmp(owner, "stapsdt") != 0 ||
        nhdr.n_descsz < 3 * 8) {
      continue;
    }
    const char* desc = static_cast<const char*>(data->d_buf) + desc_offset;
    uint64_t pc, base, semaphore;
    std::memcpy(&pc, desc, 8);
    std::memcpy(&base, desc + 8, 8);
    std::memcpy(&semaphore, desc + 16, 8);
    const char* strings = desc + 24;
    const char* end = desc + nhdr.n_descsz;
    std::string provider(strings, strnlen(strings, end - strings));
    strings += provider.size() + 1;
    if (strings >= end) continue;
    std::string name(strings, strnlen(strings, end - strings));
    // Prelinking moves the note's idea of .stapsdt.base; correct for it.
    if (base_section) pc += *base_section - base;
    notes.push_back(UsdtNote{provider, name, pc, semaphore});
  }
}

std::optional<uint64_t> find_symbol(Elf* elf, Elf_Scn* symbols, std::string_view wanted) {
  GElf_Shdr shdr;
  Elf_Data* data = elf_getdata(symbols, nullptr);
  if (!data || !gelf_getshdr(symbols, &shdr) || shdr.sh_entsize == 0) return std::nullopt;
  size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 0; i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
    const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
    if (name && wanted == name && sym.st_value != 0) return sym.st_value;
  }
  return std::nullopt;
}

}  // namespace

std::vector<const UsdtNote*> PythonElf::find(std::string_view provider, std::string_view name) const {
  std::vector<const UsdtNote*> found;
  for (const auto& note : notes) {
    if (note.provider == provider && note.name == name) found.push_back(&note);
  }
  return found;
}

PythonElf read_python_elf(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) throw Error("libelf is too old");
  // O_NONBLOCK: a FIFO in the file's place must not hold the tool.
  FdCloser fd{open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
  if (fd.fd < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error(path + " is not a regular file");
  ElfHandle elf(elf_begin(fd.fd, ELF_C_READ, nullptr), &elf_end);
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) throw Error(path + " is not an ELF file");

  size_t strndx;
  if (elf_getshdrstrndx(elf.get(), &strndx) != 0) throw Error(path + ": unreadable ELF sections");

  PythonElf result;
  result.path = path;
  std::optional<uint64_t> stapsdt_base;
  std::vector<Elf_Scn*> note_sections;
  std::vector<Elf_Scn*> symbol_tables;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    std::string name = section_name(elf.get(), strndx, shdr);
    if (shdr.sh_type == SHT_DYNSYM || shdr.sh_type == SHT_SYMTAB) symbol_tables.push_back(scn);
    if (name == ".stapsdt.base") {
      stapsdt_base = shdr.sh_addr;
    } else if (name == ".note.stapsdt" && shdr.sh_type == SHT_NOTE) {
      note_sections.push_back(scn);
    } else if (name == ".PyRuntime" && shdr.sh_type == SHT_PROGBITS) {
      result.runtime_address = shdr.sh_addr;
      if (Elf_Data* data = elf_getdata(scn, nullptr); data && data->d_buf) {
        const auto* bytes = static_cast<const uint8_t*>(data->d_buf);
        result.runtime_head.assign(bytes, bytes + std::min<size_t>(data->d_size, kRuntimeHeadBytes));
      }
    }
  }
  auto symbol = [&](std::string_view name) -> std::optional<uint64_t> {
    for (Elf_Scn* scn : symbol_tables) {
      if (auto address = find_symbol(elf.get(), scn, name)) return address;
    }
    return std::nullopt;
  };
  result.init_shim_address = symbol("_Py_InitCleanup");
  result.none_type = symbol("_PyNone_Type");
  result.bool_type = symbol("PyBool_Type");
  result.float_type = symbol("PyFloat_Type");
  result.set_type = symbol("PySet_Type");
  result.cell_type = symbol("PyCell_Type");
  result.long_type = symbol("PyLong_Type");
  result.unicode_type = symbol("PyUnicode_Type");
  result.bytes_type = symbol("PyBytes_Type");
  result.list_type = symbol("PyList_Type");
  result.tuple_type = symbol("PyTuple_Type");
  result.dict_type = symbol("PyDict_Type");
  for (Elf_Scn* scn : note_sections) {
    if (Elf_Data* data = elf_getdata(scn, nullptr)) read_stapsdt_notes(data, stapsdt_base, result.notes);
  }
  return result;
}

}  // namespace pytrace

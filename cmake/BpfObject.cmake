# SPDX-License-Identifier: MIT
# bpf_object(<name> <source.bpf.c> HEADERS <headers...>)
#
# Compiles a BPF program with clang and generates its libbpf skeleton with
# `bpftool gen skeleton`. Defines the INTERFACE target <name>_skel, which
# carries the skeleton's include directory and links libbpf. Modelled on
# libbpf-bootstrap's FindBpfObject.cmake.

find_program(BPF_CLANG NAMES clang clang-14 clang-15 clang-16 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.0)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "BPF programs: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(bpf_object name source)
  cmake_parse_arguments(ARG "" "" "HEADERS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(object ${out_dir}/${name}.bpf.o)
  set(skeleton ${out_dir}/${name}.skel.h)
  # usdt.bpf.h includes <asm/errno.h>, which Debian keeps under the multiarch dir.
  set(multiarch_include /usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    # -mcpu=v3: atomic fetch-and-or, which claims scratch space (kernel 5.12+).
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Werror -I${CMAKE_CURRENT_SOURCE_DIR} -idirafter ${multiarch_include}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${object}
    DEPENDS ${source} ${ARG_HEADERS}
    COMMENT "Compiling BPF program ${source}")
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${BPFTOOL} gen skeleton ${object} name ${name} > ${skeleton}
    DEPENDS ${object}
    COMMENT "Generating BPF skeleton ${name}.skel.h")
  add_custom_target(${name}_skel_gen DEPENDS ${skeleton})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${out_dir} ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()

// SPDX-License-Identifier: MIT
#include "io/compression.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace pytrace {

namespace {

constexpr size_t kChunk = 1 << 20;
// Fast levels: the writer makes hundreds of MB a second, the compressor must keep up.
constexpr int kGzipLevel = 1;
constexpr int kZstdLevel = 3;

}  // namespace

Compression compression_for_name(std::string_view path) {
  if (path.ends_with(".gz")) return Compression::kGzip;
  if (path.ends_with(".zst")) return Compression::kZstd;
  return Compression::kNone;
}

Compression compression_of(std::span<const char> head) {
  auto starts = [&](std::initializer_list<unsigned char> magic) {
    if (head.size() < magic.size()) return false;
    size_t i = 0;
    for (unsigned char byte : magic)
      if (static_cast<unsigned char>(head[i++]) != byte) return false;
    return true;
  };
  if (starts({0x1f, 0x8b})) return Compression::kGzip;
  if (starts({0x28, 0xb5, 0x2f, 0xfd})) return Compression::kZstd;
  return Compression::kNone;
}

const char* compression_name(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "none";
}

struct CompressingBuffer::Codec {
  Compression kind;
  z_stream gzip{};
  ZSTD_CStream* zstd = nullptr;

  explicit Codec(Compression compression) : kind(compression) {
    if (kind == Compression::kGzip) {
      // 15 + 16: a gzip header and trailer around the deflate stream.
      if (deflateInit2(&gzip, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error("cannot start gzip compression");
    } else {
      zstd = ZSTD_createCStream();
      if (!zstd || ZSTD_isError(ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel, kZstdLevel)))
        throw Error("cannot start zstd compression");
    }
  }
  ~Codec() {
    if (kind == Compression::kGzip) deflateEnd(&gzip);
    if (zstd) ZSTD_freeCStream(zstd);
  }
};

CompressingBuffer::CompressingBuffer(Compression compression, std::streambuf& sink)
    : codec_(std::make_unique<Codec>(compression)), sink_(sink), input_(kChunk), output_(kChunk) {
  setp(input_.data(), input_.data() + input_.size());
}

CompressingBuffer::~CompressingBuffer() = default;

// Compresses what is buffered (and with `end`, ends the stream) into the sink.
bool CompressingBuffer::compress(bool end) {
  const char* data = pbase();
  size_t size = pptr() - pbase();
  setp(input_.data(), input_.data() + input_.size());
  if (failed_ || finished_) return false;
  auto put = [&](size_t produced) {
    if (produced && sink_.sputn(output_.data(), static_cast<std::streamsize>(produced)) !=
                        static_cast<std::streamsize>(produced))
      failed_ = true;
  };
  if (codec_->kind == Compression::kGzip) {
    z_stream& z = codec_->gzip;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(size);
    int result;
    do {
      z.next_out = reinterpret_cast<Bytef*>(output_.data());
      z.avail_out = static_cast<uInt>(output_.size());
      result = deflate(&z, end ? Z_FINISH : Z_NO_FLUSH);
      if (result == Z_STREAM_ERROR) failed_ = true;
      put(output_.size() - z.avail_out);
    } while (!failed_ && (z.avail_out == 0 || (end && result != Z_STREAM_END)));
  } else {
    ZSTD_inBuffer in{data, size, 0};
    size_t left;
    do {
      ZSTD_outBuffer out{output_.data(), output_.size(), 0};
      left = ZSTD_compressStream2(codec_->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left)) failed_ = true;
      put(out.pos);
    } while (!failed_ && (end ? left != 0 : in.pos < in.size));
  }
  if (end) finished_ = true;
  return !failed_;
}

CompressingBuffer::int_type CompressingBuffer::overflow(int_type c) {
  if (!compress(false)) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

// Passes what is compressed so far to the sink; the compressor keeps the rest.
int CompressingBuffer::sync() {
  if (finished_) return failed_ ? -1 : 0;
  return compress(false) && sink_.pubsync() == 0 ? 0 : -1;
}

bool CompressingBuffer::finish() {
  if (finished_) return !failed_;
  return compress(true) && sink_.pubsync() == 0;
}

void decompress(Compression compression, std::span<const char> data,
                const std::function<void(std::span<const char>)>& sink) {
  std::vector<char> chunk(kChunk);
  if (compression == Compression::kGzip) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) throw Error("cannot start gzip decompression");
    size_t fed = 0;  // zlib takes at most 4 GiB at a time
    int result = Z_OK;
    try {
      while (result != Z_STREAM_END) {
        if (z.avail_in == 0 && fed < data.size()) {
          size_t piece = std::min<size_t>(data.size() - fed, size_t{1} << 30);
          z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
          z.avail_in = static_cast<uInt>(piece);
          fed += piece;
        }
        z.next_out = reinterpret_cast<Bytef*>(chunk.data());
        z.avail_out = static_cast<uInt>(chunk.size());
        result = inflate(&z, Z_NO_FLUSH);
        if (result != Z_OK && result != Z_STREAM_END)
          throw Error(result == Z_BUF_ERROR ? "the gzip data ends early" : "the gzip data is damaged");
        sink({chunk.data(), chunk.size() - z.avail_out});
      }
    } catch (...) {
      inflateEnd(&z);
      throw;
    }
    inflateEnd(&z);
    return;
  }
  if (compression == Compression::kZstd) {
    std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> stream(ZSTD_createDStream(), ZSTD_freeDStream);
    if (!stream) throw Error("cannot start zstd decompression");
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    size_t left = 1;
    while (in.pos < in.size || left != 0) {
      ZSTD_outBuffer buffer{chunk.data(), chunk.size(), 0};
      size_t before = in.pos;
      left = ZSTD_decompressStream(stream.get(), &buffer, &in);
      if (ZSTD_isError(left))
        throw Error(std::string("the zstd data is damaged: ") + ZSTD_getErrorName(left));
      sink({chunk.data(), buffer.pos});
      if (in.pos == in.size && left != 0 && buffer.pos == 0 && in.pos == before)
        throw Error("the zstd data ends early");
    }
    return;
  }
  sink(data);
}

}  // namespace pytrace

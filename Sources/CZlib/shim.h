// zlib's `inflateInit2` and `deflateInit2` are macros (they pass the library version and the
// size of z_stream for an ABI check), which Swift cannot import. These wrappers are the only
// way in; everything else in zlib is a plain function Swift can call directly.
#ifndef ARTIFACTS_CZLIB_SHIM_H
#define ARTIFACTS_CZLIB_SHIM_H

#include <zlib.h>

static inline int czlib_inflate_init2(z_streamp stream, int window_bits) {
  return inflateInit2(stream, window_bits);
}

static inline int czlib_deflate_init2(z_streamp stream, int level, int window_bits, int mem_level) {
  return deflateInit2(stream, level, Z_DEFLATED, window_bits, mem_level, Z_DEFAULT_STRATEGY);
}

#endif

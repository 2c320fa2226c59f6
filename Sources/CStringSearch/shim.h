// glibc's memmem is a GNU extension: Swift's Glibc module is imported without _GNU_SOURCE, so
// it cannot see it. This wrapper is the only way in. (The log scanner uses it to skip records
// that cannot cite anything without decoding them.)
#ifndef ARTIFACTS_CSTRINGSEARCH_SHIM_H
#define ARTIFACTS_CSTRINGSEARCH_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <string.h>
#include <stddef.h>

static inline const void *cstringsearch_memmem(const void *haystack, size_t haystack_length, const void *needle,
                                               size_t needle_length) {
  return memmem(haystack, haystack_length, needle, needle_length);
}

#endif

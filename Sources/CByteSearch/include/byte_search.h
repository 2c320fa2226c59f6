// The log scanner's prefilter: where a short needle first occurs in a buffer. glibc's memmem
// is not vectorised (it was 27% of a sparse scan's time, against 2% for the memchr that
// splits the same bytes into lines).
#ifndef ARTIFACTS_BYTE_SEARCH_H
#define ARTIFACTS_BYTE_SEARCH_H

#include <stddef.h>

/// The first occurrence of `needle` in `haystack`, or NULL; the same answer as memmem.
const void *byte_search(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

/// The same with blocks of `width` bytes: 32 (AVX2, where the processor has it), 16 (SSE2) or
/// 0 (memmem alone). Tests hold every width to the same answers.
const void *byte_search_width(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length,
                              int width);

/// The widest block this processor searches with.
int byte_search_best_width(void);

#endif

// Substring search by the "first and last byte" filter (Wojciech Muła, "SIMD-friendly
// algorithms for substring searching"): compare 32 (AVX2) or 16 (SSE2) positions at once
// against the needle's first byte and, needle-length minus one further on, its last; only
// positions where both match are compared in full. In JSON logs a pair such as 'c'…'_' nine
// bytes apart is rare, so almost every block costs two loads and two comparisons.
#define _GNU_SOURCE 1
#include "byte_search.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

static const unsigned char *finish(const unsigned char *at, const unsigned char *needle, size_t length) {
  return memcmp(at + 1, needle + 1, length - 2) == 0 ? at : NULL;
}

__attribute__((target("avx2"))) static const void *search_avx2(const unsigned char *haystack, size_t count,
                                                                 const unsigned char *needle, size_t length,
                                                                 size_t *searched) {
  const __m256i first = _mm256_set1_epi8((char)needle[0]);
  const __m256i last = _mm256_set1_epi8((char)needle[length - 1]);
  size_t i = 0;
  for (; i + length - 1 + 32 <= count; i += 32) {
    __m256i head = _mm256_loadu_si256((const __m256i *)(haystack + i));
    __m256i tail = _mm256_loadu_si256((const __m256i *)(haystack + i + length - 1));
    unsigned mask = (unsigned)_mm256_movemask_epi8(
        _mm256_and_si256(_mm256_cmpeq_epi8(head, first), _mm256_cmpeq_epi8(tail, last)));
    while (mask != 0) {
      const unsigned char *found = finish(haystack + i + __builtin_ctz(mask), needle, length);
      if (found) return found;
      mask &= mask - 1;
    }
  }
  *searched = i;
  return NULL;
}

static const void *search_sse2(const unsigned char *haystack, size_t count, const unsigned char *needle,
                               size_t length, size_t *searched) {
  const __m128i first = _mm_set1_epi8((char)needle[0]);
  const __m128i last = _mm_set1_epi8((char)needle[length - 1]);
  size_t i = 0;
  for (; i + length - 1 + 16 <= count; i += 16) {
    __m128i head = _mm_loadu_si128((const __m128i *)(haystack + i));
    __m128i tail = _mm_loadu_si128((const __m128i *)(haystack + i + length - 1));
    unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(head, first), _mm_cmpeq_epi8(tail, last)));
    while (mask != 0) {
      const unsigned char *found = finish(haystack + i + __builtin_ctz(mask), needle, length);
      if (found) return found;
      mask &= mask - 1;
    }
  }
  *searched = i;
  return NULL;
}

static int has_avx2(void) {
  // Computed once; threads that race to it all store the same answer.
  static int known = -1;
  int answer = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (answer < 0) {
    __builtin_cpu_init();
    answer = __builtin_cpu_supports("avx2") ? 1 : 0;
    __atomic_store_n(&known, answer, __ATOMIC_RELAXED);
  }
  return answer;
}
#endif

int byte_search_best_width(void) {
#if defined(__x86_64__)
  return has_avx2() ? 32 : 16;
#else
  return 0;
#endif
}

const void *byte_search_width(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length,
                              int width) {
#if defined(__x86_64__)
  if (width > 0 && needle_length >= 2 && haystack_length >= needle_length) {
    const unsigned char *bytes = haystack;
    size_t searched = 0;
    const void *found = width >= 32 && has_avx2()
                            ? search_avx2(bytes, haystack_length, needle, needle_length, &searched)
                            : search_sse2(bytes, haystack_length, needle, needle_length, &searched);
    if (found) return found;
    // The last positions, too few for a whole block past them.
    return memmem(bytes + searched, haystack_length - searched, needle, needle_length);
  }
#endif
  (void)width;
  return memmem(haystack, haystack_length, needle, needle_length);
}

const void *byte_search(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length) {
  return byte_search_width(haystack, haystack_length, needle, needle_length, 32);
}

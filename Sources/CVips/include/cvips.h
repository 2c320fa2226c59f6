// libvips, loaded when the first thumbnail is made and reached only through these functions.
//
// Only `serve` makes thumbnails, so the binary does not link libvips (and its dozens of
// image libraries): `cvips_thumbnail` opens libvips.so.42 with dlopen the first time, and a
// machine without libvips serves the gallery without thumbnails. Everything libvips decodes
// here was written by a model, so only the PNG, JPEG, GIF and WebP loaders are left enabled
// (no SVG, PDF, ImageMagick or other "untrusted" loaders), and an image whose header names
// too many pixels is refused before any of it is decoded.
#ifndef ARTIFACTS_CVIPS_H
#define ARTIFACTS_CVIPS_H

#include <stddef.h>
#include <stdbool.h>

/// Opens and initialises libvips, once per process. False when it cannot: `error` gets why.
bool cvips_load(char *error, size_t error_size);

/// Decodes the image in `bytes` (PNG, JPEG, GIF or WebP), shrinks it to fit `max_width` ×
/// `max_height` (never enlarging) and encodes it as WebP. Refuses, before decoding, an image
/// wider or taller than `max_side` or with more than `max_pixels` pixels. On success returns
/// true and `*webp`/`*webp_length` hold the encoded bytes (release them with `cvips_free`);
/// on failure returns false and `error` says why.
bool cvips_thumbnail(const void *bytes, size_t length, int max_width, int max_height, int max_side,
                     long long max_pixels, void **webp, size_t *webp_length, char *error,
                     size_t error_size);

/// Releases what `cvips_thumbnail` returned.
void cvips_free(void *pointer);

#endif

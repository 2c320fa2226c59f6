// See cvips.h. libvips's entry points are declared here by hand (the binary is built without
// its headers); each matches the libvips 8.x ABI.
#include "cvips.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct VipsImage VipsImage;

static int (*p_vips_init)(const char *argv0);
static VipsImage *(*p_vips_image_new_from_buffer)(const void *buf, size_t len, const char *options, ...);
static int (*p_vips_image_get_width)(const VipsImage *image);
static int (*p_vips_image_get_height)(const VipsImage *image);
static int (*p_vips_thumbnail_buffer)(void *buf, size_t len, VipsImage **out, int width, ...);
static int (*p_vips_webpsave_buffer)(VipsImage *in, void **buf, size_t *len, ...);
static void (*p_vips_operation_block_set)(const char *name, int state);
static void (*p_vips_cache_set_max)(int max);
static void (*p_vips_concurrency_set)(int concurrency);
static const char *(*p_vips_error_buffer)(void);
static void (*p_vips_error_clear)(void);
static void (*p_g_object_unref)(void *object);
static void (*p_g_free)(void *pointer);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static bool loaded;

// VipsSize: shrink only, never enlarge.
enum { CVIPS_SIZE_DOWN = 2 };

static void *symbol(void *library, const char *name) {
  void *found = dlsym(library, name);
  if (!found && load_error[0] == 0) snprintf(load_error, sizeof load_error, "libvips has no %s", name);
  return found;
}

static void load(void) {
  void *library = dlopen("libvips.so.42", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    snprintf(load_error, sizeof load_error, "cannot open libvips.so.42 (Debian: apt install libvips42): %s",
             dlerror());
    return;
  }
  *(void **)&p_vips_init = symbol(library, "vips_init");
  *(void **)&p_vips_image_new_from_buffer = symbol(library, "vips_image_new_from_buffer");
  *(void **)&p_vips_image_get_width = symbol(library, "vips_image_get_width");
  *(void **)&p_vips_image_get_height = symbol(library, "vips_image_get_height");
  *(void **)&p_vips_thumbnail_buffer = symbol(library, "vips_thumbnail_buffer");
  *(void **)&p_vips_webpsave_buffer = symbol(library, "vips_webpsave_buffer");
  *(void **)&p_vips_operation_block_set = symbol(library, "vips_operation_block_set");
  *(void **)&p_vips_cache_set_max = symbol(library, "vips_cache_set_max");
  *(void **)&p_vips_concurrency_set = symbol(library, "vips_concurrency_set");
  *(void **)&p_vips_error_buffer = symbol(library, "vips_error_buffer");
  *(void **)&p_vips_error_clear = symbol(library, "vips_error_clear");
  *(void **)&p_g_object_unref = symbol(library, "g_object_unref");
  *(void **)&p_g_free = symbol(library, "g_free");
  if (load_error[0] != 0) return;
  if (p_vips_init("artifacts") != 0) {
    snprintf(load_error, sizeof load_error, "libvips did not start: %s", p_vips_error_buffer());
    return;
  }
  // Every loader off, then the four raster formats a chart comes in back on.
  p_vips_operation_block_set("VipsForeignLoad", 1);
  p_vips_operation_block_set("VipsForeignLoadPng", 0);
  p_vips_operation_block_set("VipsForeignLoadJpeg", 0);
  p_vips_operation_block_set("VipsForeignLoadNsgif", 0);
  p_vips_operation_block_set("VipsForeignLoadGif", 0);
  p_vips_operation_block_set("VipsForeignLoadWebp", 0);
  // Each thumbnail is made once and kept: libvips's operation cache would only hold memory.
  p_vips_cache_set_max(0);
  p_vips_concurrency_set(1);
  loaded = true;
}

bool cvips_load(char *error, size_t error_size) {
  pthread_once(&load_once, load);
  if (!loaded && error && error_size > 0) snprintf(error, error_size, "%s", load_error);
  return loaded;
}

static bool fail(char *error, size_t error_size, const char *what) {
  const char *detail = p_vips_error_buffer ? p_vips_error_buffer() : "";
  if (error && error_size > 0) {
    snprintf(error, error_size, "%s%s%s", what, detail[0] ? ": " : "", detail);
    // libvips ends its messages with a newline.
    size_t length = strlen(error);
    while (length > 0 && (error[length - 1] == '\n' || error[length - 1] == ' ')) error[--length] = 0;
  }
  if (p_vips_error_clear) p_vips_error_clear();
  return false;
}

bool cvips_thumbnail(const void *bytes, size_t length, int max_width, int max_height, int max_side,
                     long long max_pixels, void **webp, size_t *webp_length, char *error,
                     size_t error_size) {
  *webp = NULL;
  *webp_length = 0;
  if (!cvips_load(error, error_size)) return false;

  // The header only: libvips decodes lazily, so this reads the dimensions and no pixels.
  VipsImage *header = p_vips_image_new_from_buffer(bytes, length, "", NULL);
  if (!header) return fail(error, error_size, "not an image libvips will read");
  long long width = p_vips_image_get_width(header);
  long long height = p_vips_image_get_height(header);
  p_g_object_unref(header);
  if (width <= 0 || height <= 0 || width > max_side || height > max_side || width * height > max_pixels) {
    if (error && error_size > 0)
      snprintf(error, error_size, "image is %lldx%lld pixels, over the limit of %d per side and %lld in all",
               width, height, max_side, max_pixels);
    return false;
  }

  VipsImage *thumbnail = NULL;
  if (p_vips_thumbnail_buffer((void *)bytes, length, &thumbnail, max_width, "height", max_height, "size",
                              CVIPS_SIZE_DOWN, NULL) != 0)
    return fail(error, error_size, "cannot decode the image");
  int saved = p_vips_webpsave_buffer(thumbnail, webp, webp_length, "Q", 75, "strip", 1, NULL);
  p_g_object_unref(thumbnail);
  if (saved != 0) return fail(error, error_size, "cannot encode the thumbnail");
  return true;
}

void cvips_free(void *pointer) {
  if (pointer && p_g_free) p_g_free(pointer);
}

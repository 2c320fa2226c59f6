// The one place libcurl is opened and its functions are looked up (see ccurl.h for why it is
// loaded at run time rather than linked).
#include "ccurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

// Each pointer has exactly the type curl.h declares for the function it holds.
#define CCURL_FUNCTIONS(X)                                                                       \
  X(curl_global_init)                                                                            \
  X(curl_easy_init)                                                                              \
  X(curl_easy_cleanup)                                                                           \
  X(curl_easy_setopt)                                                                            \
  X(curl_easy_getinfo)                                                                           \
  X(curl_easy_strerror)                                                                          \
  X(curl_multi_strerror)                                                                         \
  X(curl_multi_init)                                                                             \
  X(curl_multi_cleanup)                                                                          \
  X(curl_multi_setopt)                                                                           \
  X(curl_multi_add_handle)                                                                       \
  X(curl_multi_remove_handle)                                                                    \
  X(curl_multi_perform)                                                                          \
  X(curl_multi_poll)                                                                             \
  X(curl_multi_wakeup)                                                                           \
  X(curl_multi_info_read)                                                                        \
  X(curl_slist_append)                                                                           \
  X(curl_slist_free_all)

#define CCURL_DECLARE(name) static __typeof__(name) *p_##name;
CCURL_FUNCTIONS(CCURL_DECLARE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[512];

static void load(void) {
  // The soname first (what the libcurl4 package installs), then the development symlink.
  const char *names[] = {"libcurl.so.4", "libcurl.so"};
  void *library = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
    library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  }
  if (library == NULL) {
    const char *reason = dlerror();
    snprintf(load_error, sizeof load_error, "cannot load libcurl (install libcurl4): %s",
             reason ? reason : "not found");
    return;
  }
#define CCURL_LOOK_UP(name)                                                                      \
  p_##name = (__typeof__(name) *)dlsym(library, #name);                                          \
  if (p_##name == NULL) {                                                                        \
    snprintf(load_error, sizeof load_error,                                                      \
             "the installed libcurl has no " #name " (libcurl 7.68 or newer is needed)");         \
    return;                                                                                      \
  }
  CCURL_FUNCTIONS(CCURL_LOOK_UP)
  CURLcode initialised = p_curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialised != CURLE_OK) {
    snprintf(load_error, sizeof load_error, "libcurl failed to initialise: %s",
             p_curl_easy_strerror(initialised));
    return;
  }
  loaded = true;
}

bool ccurl_load(void) {
  pthread_once(&load_once, load);
  return loaded;
}

const char *ccurl_load_error(void) { return loaded ? NULL : load_error; }

// A call before a successful load is a bug in the caller, never a user error.
static void require_loaded(const char *function) {
  if (!loaded) {
    fprintf(stderr, "internal error: %s called before libcurl was loaded\n", function);
    abort();
  }
}

#define CALL(name, ...) (require_loaded(#name), p_##name(__VA_ARGS__))

CURL *ccurl_easy_init(void) { return (require_loaded("curl_easy_init"), p_curl_easy_init()); }
void ccurl_easy_cleanup(CURL *handle) { CALL(curl_easy_cleanup, handle); }
const char *ccurl_easy_strerror(CURLcode code) { return CALL(curl_easy_strerror, code); }
const char *ccurl_multi_strerror(CURLMcode code) { return CALL(curl_multi_strerror, code); }
CURLM *ccurl_multi_init(void) { return (require_loaded("curl_multi_init"), p_curl_multi_init()); }
CURLMcode ccurl_multi_cleanup(CURLM *multi) { return CALL(curl_multi_cleanup, multi); }
CURLMcode ccurl_multi_add_handle(CURLM *multi, CURL *handle) {
  return CALL(curl_multi_add_handle, multi, handle);
}
CURLMcode ccurl_multi_remove_handle(CURLM *multi, CURL *handle) {
  return CALL(curl_multi_remove_handle, multi, handle);
}
CURLMcode ccurl_multi_perform(CURLM *multi, int *running) {
  return CALL(curl_multi_perform, multi, running);
}
CURLMcode ccurl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                           int timeout_ms, int *ret) {
  return CALL(curl_multi_poll, multi, extra_fds, extra_nfds, timeout_ms, ret);
}
CURLMcode ccurl_multi_wakeup(CURLM *multi) { return CALL(curl_multi_wakeup, multi); }
CURLMsg *ccurl_multi_info_read(CURLM *multi, int *msgs_in_queue) {
  return CALL(curl_multi_info_read, multi, msgs_in_queue);
}
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *string) {
  return CALL(curl_slist_append, list, string);
}
void ccurl_slist_free_all(struct curl_slist *list) { CALL(curl_slist_free_all, list); }

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
  return CALL(curl_easy_setopt, handle, option, value);
}
CURLcode ccurl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
  return CALL(curl_easy_setopt, handle, option, value);
}
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
  return CALL(curl_easy_setopt, handle, option, value);
}
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
  return CALL(curl_easy_setopt, handle, option, value);
}
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
  return CALL(curl_easy_setopt, handle, option, value);
}
CURLcode ccurl_easy_setopt_write_callback(CURL *handle, CURLoption option, ccurl_write_callback callback) {
  return CALL(curl_easy_setopt, handle, option, callback);
}
CURLcode ccurl_easy_setopt_xferinfo_callback(CURL *handle, ccurl_xferinfo_callback callback) {
  return CALL(curl_easy_setopt, handle, CURLOPT_XFERINFOFUNCTION, callback);
}
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
  return CALL(curl_easy_getinfo, handle, info, value);
}
CURLcode ccurl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
  return CALL(curl_easy_getinfo, handle, info, value);
}
CURLcode ccurl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
  return CALL(curl_easy_getinfo, handle, info, value);
}
CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
  return CALL(curl_multi_setopt, multi, option, value);
}

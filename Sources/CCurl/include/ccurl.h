// libcurl, loaded when the first download needs it and reached only through these functions.
//
// Linking libcurl would make every command pay for it at start-up: it pulls in some thirty
// shared libraries (TLS, Kerberos, LDAP, SSH, …) whose loading and constructors cost about
// 6 ms, three times what `find` needs for its query. So the binary does not link it;
// `ccurl_load` opens libcurl.so.4 with dlopen the first time a command downloads.
//
// Swift cannot call C variadic functions, and `curl_easy_setopt`/`curl_easy_getinfo`/
// `curl_multi_setopt` are variadic: each option expects one specific argument type, which the
// typed wrappers below make explicit so a wrong type is a compile error rather than undefined
// behaviour. Everything is prefixed `ccurl_` so it never collides with libcurl's own names.
#ifndef ARTIFACTS_CCURL_H
#define ARTIFACTS_CCURL_H

#include <curl/curl.h>
#include <stdbool.h>

/// Opens libcurl and runs `curl_global_init`, once per process. On failure returns false and
/// `ccurl_load_error` says what is missing (the library, or a function an old libcurl lacks).
bool ccurl_load(void);
const char *ccurl_load_error(void);

// Callback shapes, named so Swift sees them as @convention(c) function types.
typedef size_t (*ccurl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*ccurl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                       curl_off_t ultotal, curl_off_t ulnow);

// The libcurl functions used, one for one. Calling any before `ccurl_load` succeeded aborts.
CURL *ccurl_easy_init(void);
void ccurl_easy_cleanup(CURL *handle);
const char *ccurl_easy_strerror(CURLcode code);
const char *ccurl_multi_strerror(CURLMcode code);
CURLM *ccurl_multi_init(void);
CURLMcode ccurl_multi_cleanup(CURLM *multi);
CURLMcode ccurl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode ccurl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode ccurl_multi_perform(CURLM *multi, int *running);
CURLMcode ccurl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                           int timeout_ms, int *ret);
CURLMcode ccurl_multi_wakeup(CURLM *multi);
CURLMsg *ccurl_multi_info_read(CURLM *multi, int *msgs_in_queue);
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *string);
void ccurl_slist_free_all(struct curl_slist *list);

// Options taking a `long`.
CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
// Options taking a `curl_off_t` (64-bit sizes and offsets).
CURLcode ccurl_easy_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
// Options taking a C string (libcurl copies it).
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
// Options taking an opaque pointer (userdata).
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
// CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION.
CURLcode ccurl_easy_setopt_write_callback(CURL *handle, CURLoption option, ccurl_write_callback callback);
CURLcode ccurl_easy_setopt_xferinfo_callback(CURL *handle, ccurl_xferinfo_callback callback);
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_easy_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode ccurl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);
CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

// `CURLMsg.data` is a union; Swift imports it awkwardly, so read the result code here.
static inline CURLcode ccurl_msg_result(const CURLMsg *message) {
  return message->data.result;
}

#endif

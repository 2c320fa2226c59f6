// glibc's GNU extensions: Swift's Glibc module is imported without _GNU_SOURCE, so it cannot
// see them. These wrappers are the only way in. The blob store uses syncfs to flush a batch of
// new blobs with one call instead of two fsyncs per file.
#ifndef ARTIFACTS_CGNUEXTENSIONS_SHIM_H
#define ARTIFACTS_CGNUEXTENSIONS_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <unistd.h>

#ifdef __linux__
/// Flushes the whole file system that holds `descriptor`; 0, or -1 with errno.
static inline int gnu_syncfs(int descriptor) { return syncfs(descriptor); }
#endif

#endif

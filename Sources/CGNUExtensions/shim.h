// glibc's GNU extensions: Swift's Glibc module is imported without _GNU_SOURCE, so it cannot
// see them. These wrappers are the only way in. The blob store uses syncfs to flush a batch of
// new blobs with one call instead of two fsyncs per file, and renameat2 to move a staged file
// into place without ever replacing a blob.
#ifndef ARTIFACTS_CGNUEXTENSIONS_SHIM_H
#define ARTIFACTS_CGNUEXTENSIONS_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#ifdef __linux__
/// Flushes the whole file system that holds `descriptor`; 0, or -1 with errno.
static inline int gnu_syncfs(int descriptor) { return syncfs(descriptor); }

/// Renames `from` to `to` unless `to` exists (then fails with EEXIST); 0, or -1 with errno
/// (EINVAL where the file system cannot refuse to replace).
static inline int gnu_rename_noreplace(const char *from, const char *to) {
  return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}
#endif

#endif

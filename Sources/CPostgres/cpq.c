// The one place libpq is opened and its functions are looked up (see cpq.h for why it is
// loaded at run time rather than linked).
#include "cpq.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

// Each pointer has exactly the type libpq-fe.h declares for the function it holds.
#define CPQ_FUNCTIONS(X)                                                                         \
  X(PQconnectdb)                                                                                 \
  X(PQstatus)                                                                                    \
  X(PQerrorMessage)                                                                              \
  X(PQfinish)                                                                                    \
  X(PQreset)                                                                                     \
  X(PQserverVersion)                                                                             \
  X(PQparameterStatus)                                                                           \
  X(PQtransactionStatus)                                                                         \
  X(PQbackendPID)                                                                                \
  X(PQexec)                                                                                      \
  X(PQexecParams)                                                                                \
  X(PQprepare)                                                                                   \
  X(PQexecPrepared)                                                                              \
  X(PQresultStatus)                                                                              \
  X(PQresultErrorMessage)                                                                        \
  X(PQresultErrorField)                                                                          \
  X(PQntuples)                                                                                   \
  X(PQnfields)                                                                                   \
  X(PQgetvalue)                                                                                  \
  X(PQgetisnull)                                                                                 \
  X(PQcmdTuples)                                                                                 \
  X(PQclear)                                                                                     \
  X(PQconninfoParse)                                                                             \
  X(PQconninfoFree)                                                                              \
  X(PQfreemem)                                                                                   \
  X(PQsetNoticeProcessor)

#define CPQ_DECLARE(name) static __typeof__(name) *p_##name;
CPQ_FUNCTIONS(CPQ_DECLARE)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded;
static char load_error[512];

static void load(void) {
  // The soname first (what the libpq5 package installs), then the development symlink.
  const char *names[] = {"libpq.so.5", "libpq.so"};
  void *library = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
    library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  }
  if (library == NULL) {
    const char *reason = dlerror();
    snprintf(load_error, sizeof load_error, "cannot load libpq (install libpq5): %s",
             reason ? reason : "not found");
    return;
  }
#define CPQ_LOOK_UP(name)                                                                        \
  p_##name = (__typeof__(name) *)dlsym(library, #name);                                          \
  if (p_##name == NULL) {                                                                        \
    snprintf(load_error, sizeof load_error,                                                      \
             "the installed libpq has no " #name " (libpq 12 or newer is needed)");               \
    return;                                                                                      \
  }
  CPQ_FUNCTIONS(CPQ_LOOK_UP)
  loaded = true;
}

bool cpq_load(void) {
  pthread_once(&load_once, load);
  return loaded;
}

const char *cpq_load_error(void) { return loaded ? NULL : load_error; }

// A call before a successful load is a bug in the caller, never a user error.
static void require_loaded(const char *function) {
  if (!loaded) {
    fprintf(stderr, "internal error: %s called before libpq was loaded\n", function);
    abort();
  }
}

#define CALL(name, ...) (require_loaded(#name), p_##name(__VA_ARGS__))

PGconn *cpq_connectdb(const char *conninfo) { return CALL(PQconnectdb, conninfo); }
ConnStatusType cpq_status(const PGconn *conn) { return CALL(PQstatus, conn); }
char *cpq_error_message(const PGconn *conn) { return CALL(PQerrorMessage, conn); }
void cpq_finish(PGconn *conn) { CALL(PQfinish, conn); }
void cpq_reset(PGconn *conn) { CALL(PQreset, conn); }
int cpq_server_version(const PGconn *conn) { return CALL(PQserverVersion, conn); }
const char *cpq_parameter_status(const PGconn *conn, const char *name) {
  return CALL(PQparameterStatus, conn, name);
}
PGTransactionStatusType cpq_transaction_status(const PGconn *conn) {
  return CALL(PQtransactionStatus, conn);
}
int cpq_backend_pid(const PGconn *conn) { return CALL(PQbackendPID, conn); }

PGresult *cpq_exec(PGconn *conn, const char *query) { return CALL(PQexec, conn, query); }
// Parameters go as text, their types inferred by the server from the statement.
PGresult *cpq_exec_params(PGconn *conn, const char *command, int count, const char *const *values) {
  return CALL(PQexecParams, conn, command, count, NULL, values, NULL, NULL, 0);
}
PGresult *cpq_prepare(PGconn *conn, const char *name, const char *query) {
  return CALL(PQprepare, conn, name, query, 0, NULL);
}
PGresult *cpq_exec_prepared(PGconn *conn, const char *name, int count, const char *const *values) {
  return CALL(PQexecPrepared, conn, name, count, values, NULL, NULL, 0);
}
ExecStatusType cpq_result_status(const PGresult *result) { return CALL(PQresultStatus, result); }
char *cpq_result_error_message(const PGresult *result) {
  return CALL(PQresultErrorMessage, result);
}
char *cpq_result_error_field(const PGresult *result, int field) {
  return CALL(PQresultErrorField, result, field);
}
int cpq_ntuples(const PGresult *result) { return CALL(PQntuples, result); }
int cpq_nfields(const PGresult *result) { return CALL(PQnfields, result); }
char *cpq_getvalue(const PGresult *result, int row, int field) {
  return CALL(PQgetvalue, result, row, field);
}
int cpq_getisnull(const PGresult *result, int row, int field) {
  return CALL(PQgetisnull, result, row, field);
}
char *cpq_cmd_tuples(PGresult *result) { return CALL(PQcmdTuples, result); }
void cpq_clear(PGresult *result) { CALL(PQclear, result); }

PQconninfoOption *cpq_conninfo_parse(const char *conninfo, char **error) {
  return CALL(PQconninfoParse, conninfo, error);
}
void cpq_conninfo_free(PQconninfoOption *options) { CALL(PQconninfoFree, options); }
void cpq_freemem(void *pointer) { CALL(PQfreemem, pointer); }

static void drop_notice(void *argument, const char *message) {
  (void)argument;
  (void)message;
}
void cpq_drop_notices(PGconn *conn) { CALL(PQsetNoticeProcessor, conn, drop_notice, NULL); }

// libpq, loaded when a PostgreSQL catalog is first opened and reached only through these
// functions.
//
// As with libcurl (see ccurl.h), the binary does not link libpq: only a store whose catalog
// is in PostgreSQL needs it, so a local store neither pays for loading it (libpq brings TLS,
// Kerberos and LDAP with it) nor needs it installed. `cpq_load` opens libpq.so.5 with dlopen
// the first time. Everything is prefixed `cpq_` so it never collides with libpq's own names.
#ifndef ARTIFACTS_CPQ_H
#define ARTIFACTS_CPQ_H

#include <postgresql/libpq-fe.h>
#include <stdbool.h>

/// Opens libpq, once per process. On failure returns false and `cpq_load_error` says why.
bool cpq_load(void);
const char *cpq_load_error(void);

// The libpq functions used, one for one. Calling any before `cpq_load` succeeded aborts.
PGconn *cpq_connectdb(const char *conninfo);
ConnStatusType cpq_status(const PGconn *conn);
char *cpq_error_message(const PGconn *conn);
void cpq_finish(PGconn *conn);
void cpq_reset(PGconn *conn);
int cpq_server_version(const PGconn *conn);
const char *cpq_parameter_status(const PGconn *conn, const char *name);
PGTransactionStatusType cpq_transaction_status(const PGconn *conn);
int cpq_backend_pid(const PGconn *conn);

PGresult *cpq_exec(PGconn *conn, const char *query);
PGresult *cpq_exec_params(PGconn *conn, const char *command, int count, const char *const *values);
PGresult *cpq_prepare(PGconn *conn, const char *name, const char *query);
PGresult *cpq_exec_prepared(PGconn *conn, const char *name, int count, const char *const *values);
ExecStatusType cpq_result_status(const PGresult *result);
char *cpq_result_error_message(const PGresult *result);
char *cpq_result_error_field(const PGresult *result, int field);
int cpq_ntuples(const PGresult *result);
int cpq_nfields(const PGresult *result);
char *cpq_getvalue(const PGresult *result, int row, int field);
int cpq_getisnull(const PGresult *result, int row, int field);
char *cpq_cmd_tuples(PGresult *result);
void cpq_clear(PGresult *result);

/// Parses a connection string (a URI or `key=value` pairs) as libpq would; NULL with `*error`
/// set (free it with `cpq_freemem`) when it cannot be parsed.
PQconninfoOption *cpq_conninfo_parse(const char *conninfo, char **error);
void cpq_conninfo_free(PQconninfoOption *options);
void cpq_freemem(void *pointer);

/// libpq prints server notices (NOTICE, WARNING) to stderr by default; the catalog never
/// prints, so a connection's notices are dropped.
void cpq_drop_notices(PGconn *conn);

#endif

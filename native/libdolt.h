/*
 * libdolt: Dolt's SQL engine in-process, for pgproxy's `dolt:///dir` backend.
 *
 * Built from native/ with `make -C native` into native/build/libdolt.so.
 * This header is the contract; the header cgo writes into build/ is an
 * implementation detail and may differ in spelling, never in ABI.
 *
 * Objects, all named by opaque non-zero 64-bit handles (0 means "none"):
 *
 *   db       one open directory of Dolt databases. One engine per directory
 *            per process: opening a directory that is already open returns a
 *            new handle on the same engine (reference counted), because an
 *            engine's cold start costs hundreds of milliseconds and Dolt
 *            holds an exclusive file lock per database.
 *   session  one Dolt SQL session (its own current database, branch,
 *            transaction and session variables). A checkout in one session
 *            never shows in another.
 *   stmt     the result of one statement: columns, then rows in batches.
 *            A session runs one statement at a time: starting a new one
 *            ends the previous one, exactly as the embedded driver does.
 *
 * Threads: every call may come from any thread, and calls on different
 * sessions run in parallel. Calls on one session (and its stmt) must not
 * overlap, except dolt_cancel(), which is safe from any thread at any time.
 *
 * Memory: who frees what.
 *   - Strings passed in are read during the call only; the caller keeps them.
 *   - dolt_error.message is malloc'd by the library whenever a call fails;
 *     the caller frees it with dolt_free() (dolt_error_clear() does that).
 *   - Buffers handed out through `const uint8_t **` out-parameters belong to
 *     the stmt. A column buffer lives until dolt_stmt_close(); a row batch
 *     lives until the next dolt_fetch() or dolt_stmt_close() on that stmt.
 *     The caller never frees them and must copy what it keeps.
 *   - dolt_version() returns a static string.
 *
 * Errors: a failing call returns 0 (handle) or -1 (int) and, when `err` is
 * not NULL, fills it. `code` is the MySQL error number Dolt reports (1146 no
 * such table, 1062 duplicate key, 1064 syntax, ...) or one of the negative
 * DOLT_ERR_* codes below; `sqlstate` is MySQL's SQLSTATE for it ("HY000"
 * when MySQL has none). pgproxy maps both to PostgreSQL SQLSTATEs.
 *
 * Parameters: `?` placeholders in the SQL text, bound from a buffer of
 * `nparams` values, each a one-byte tag then its payload (little-endian):
 *   DOLT_P_NULL   (0)  nothing
 *   DOLT_P_INT    (1)  int64
 *   DOLT_P_FLOAT  (2)  float64
 *   DOLT_P_TEXT   (3)  int32 length, UTF-8 bytes
 *   DOLT_P_BYTES  (4)  int32 length, bytes
 *   DOLT_P_UINT   (5)  uint64
 *
 * Column buffer (dolt_stmt_columns): for each column, int32 length + name
 * (UTF-8), then int32 length + Dolt's type name as SHOW COLUMNS writes it
 * ("int", "bigint unsigned", "decimal(10,2)", "varchar(20)", "datetime(6)",
 * "json", "blob", "tinyint(1)" for BOOLEAN, ...).
 *
 * Row batch (dolt_fetch), n rows of c columns:
 *   int32 len[n*c]   each value's byte length, row-major; -1 is SQL NULL
 *   uint8 data[]     the values back to back, in MySQL's text form (what
 *                    `dolt sql-server` sends in its text protocol), which
 *                    is also what PostgreSQL's text format expects for
 *                    numbers, strings, dates and times; blobs are raw bytes.
 * One call moves a whole batch: the boundary is crossed once per batch, not
 * per value, and the reader decodes it in one pass (see native/README.md
 * for the measurement behind this choice).
 */
#ifndef PGPROXY_LIBDOLT_H
#define PGPROXY_LIBDOLT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t dolt_handle;

typedef struct dolt_error {
    int32_t code;       /* MySQL error number, or DOLT_ERR_* (< 0) */
    char sqlstate[8];   /* NUL-terminated MySQL SQLSTATE, e.g. "42S02" */
    char *message;      /* malloc'd; free with dolt_free() */
} dolt_error;

/*
 * What dolt_execute() reports: the statement's facts and its first batch.
 * `stmt` is 0 when the statement finished inside the call (a write, or a
 * read whose rows all fit the first batch); its buffers then belong to the
 * session and live until the next call on that session. Otherwise the
 * buffers belong to `stmt` as for dolt_fetch(), and the caller fetches the
 * rest and closes it.
 */
typedef struct dolt_result {
    dolt_handle stmt;
    int32_t ncols;             /* 0: no result set (DML, DDL, SET ...) */
    int32_t done;              /* 1: no rows remain after this batch */
    int64_t rows_affected;     /* for ncols == 0, else -1 */
    uint64_t last_insert_id;
    const uint8_t *columns;    /* column buffer (format above) */
    size_t columns_len;
    const uint8_t *batch;      /* first row batch (format above) */
    size_t batch_len;
    int64_t nrows;             /* rows in `batch` */
} dolt_result;

/* Library error codes (MySQL's own numbers are all positive). */
#define DOLT_ERR_INTERNAL     -1  /* a bug or an unexpected Go error */
#define DOLT_ERR_BAD_HANDLE   -2  /* unknown or already closed handle */
#define DOLT_ERR_CANCELED     -3  /* dolt_cancel() interrupted the statement */
#define DOLT_ERR_LOCKED       -4  /* another process (a dolt sql-server?) holds the directory */
#define DOLT_ERR_NOT_DOLT     -5  /* the path is a file, or a directory with no Dolt database */
#define DOLT_ERR_NO_DATABASE  -6  /* the named database is not in the directory */
#define DOLT_ERR_BAD_PARAMS   -7  /* malformed parameter buffer */

/* dolt_open flags */
#define DOLT_OPEN_CREATE        1u  /* create `database` even in a non-empty directory */
#define DOLT_OPEN_READ_ONLY_OK  2u  /* if locked by another process, open read-only instead of failing */

/* Parameter tags */
#define DOLT_P_NULL   0
#define DOLT_P_INT    1
#define DOLT_P_FLOAT  2
#define DOLT_P_TEXT   3
#define DOLT_P_BYTES  4
#define DOLT_P_UINT   5

/*
 * cgo compiles exports.go against the types above but writes its own
 * prototypes without `const`; it defines LIBDOLT_TYPES_ONLY to skip these.
 * The ABI is the same.
 */
#ifndef LIBDOLT_TYPES_ONLY

/* Static version string, e.g. "libdolt 0.1 (driver v2.2.0)". Never freed. */
const char *dolt_version(void);

/* Frees memory the library malloc'd for the caller (dolt_error.message). NULL is fine. */
void dolt_free(void *p);

/* Frees err->message and zeroes *err. */
void dolt_error_clear(dolt_error *err);

/*
 * Opens the directory `dir` (absolute or relative path) of Dolt databases.
 * `database` is the default database for sessions. If `dir` is missing or
 * empty, it and `database` are created as `dolt init` would (branch main,
 * an initial commit by commit_name/commit_email); a non-empty directory
 * with no Dolt database in it is refused with DOLT_ERR_NOT_DOLT unless
 * DOLT_OPEN_CREATE is given. NULL commit_name/commit_email use
 * "pgproxy"/"pgproxy@localhost".
 *
 * If a running `dolt sql-server` (or any other process) holds the
 * directory, Dolt would silently open it read-only after a 100 ms lock
 * timeout; instead this fails with DOLT_ERR_LOCKED and says so, unless
 * DOLT_OPEN_READ_ONLY_OK is given (then dolt_is_read_only() returns 1).
 * Returns a db handle, or 0 on error.
 */
dolt_handle dolt_open(const char *dir, const char *database,
                      const char *commit_name, const char *commit_email,
                      uint32_t flags, dolt_error *err);

/* 1 if the engine was opened read-only because of a lock, 0 if not, -1 for a bad handle. */
int32_t dolt_is_read_only(dolt_handle db);

/* Releases a db handle; the engine closes with its last handle. Close its sessions first. */
int32_t dolt_close(dolt_handle db, dolt_error *err);

/*
 * Opens a session on `db` with current database `database` (NULL: the
 * db's default). A revision database such as "mydb/feature-x" or
 * "mydb/a1b2c3d4" selects that branch or commit, as Dolt's sql-server does.
 * Returns a session handle, or 0 on error (1049 for an unknown database
 * or branch).
 */
dolt_handle dolt_session_open(dolt_handle db, const char *database, dolt_error *err);

/* Ends the session, rolling back an open transaction, and any running stmt. */
int32_t dolt_session_close(dolt_handle session);

/* 1 inside an explicit transaction (BEGIN, or autocommit off), 0 outside, -1 on error. */
int32_t dolt_in_transaction(dolt_handle session);

/*
 * Interrupts the statement running on `session`, from any thread. The
 * blocked dolt_query()/dolt_fetch() fails with DOLT_ERR_CANCELED. Returns
 * 1 if a statement was running, 0 if none, -1 for a bad handle.
 */
int32_t dolt_cancel(dolt_handle session);

/*
 * Runs one statement (`sql_len` bytes of UTF-8, no terminating NUL needed)
 * with `nparams` parameters encoded in `params` (see above; may be NULL
 * when nparams is 0). Returns a stmt handle, or 0 on error. Writes with no
 * result set are complete when this returns (see dolt_stmt_info).
 */
dolt_handle dolt_query(dolt_handle session, const char *sql, size_t sql_len,
                       const uint8_t *params, size_t params_len, int32_t nparams,
                       dolt_error *err);

/*
 * dolt_query(), dolt_stmt_info(), dolt_stmt_columns() and the first
 * dolt_fetch(max_rows) in one call, so a point query or a write crosses
 * the boundary once. max_rows 0 reads no row (to learn a query's columns).
 * Returns 0, or -1 on error (then no stmt exists).
 */
int32_t dolt_execute(dolt_handle session, const char *sql, size_t sql_len,
                     const uint8_t *params, size_t params_len, int32_t nparams,
                     int32_t max_rows, dolt_result *res, dolt_error *err);

/*
 * Facts about a stmt: *ncols is 0 when the statement returns no rows
 * (DML, DDL, SET ...); then *rows_affected and *last_insert_id are set,
 * otherwise *rows_affected is -1. Any out-pointer may be NULL.
 */
int32_t dolt_stmt_info(dolt_handle stmt, int32_t *ncols, int64_t *rows_affected,
                       uint64_t *last_insert_id);

/* The column buffer (format above); owned by the stmt. Returns -1 for a bad handle. */
int32_t dolt_stmt_columns(dolt_handle stmt, const uint8_t **buf, size_t *len);

/*
 * Fetches up to `max_rows` rows (fewer when a batch passes about 4 MiB)
 * into a batch owned by the stmt. Returns the number of rows (0 when the
 * result is exhausted) and sets *done to 1 once no rows remain, so a
 * caller needs no extra call to learn the end; -1 on error.
 */
int64_t dolt_fetch(dolt_handle stmt, int32_t max_rows, const uint8_t **buf, size_t *len,
                   int32_t *done, dolt_error *err);

/* Discards the rest of the result and frees the stmt and its buffers. */
int32_t dolt_stmt_close(dolt_handle stmt, dolt_error *err);

#endif /* LIBDOLT_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* PGPROXY_LIBDOLT_H */

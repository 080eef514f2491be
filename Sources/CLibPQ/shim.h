#ifndef ATRIUM_CLIBPQ_SHIM_H
#define ATRIUM_CLIBPQ_SHIM_H
#include <libpq-fe.h>

/* The PG_DIAG_* field codes are character-literal macros, which Swift does not import. */
static inline int atrium_pq_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int atrium_pq_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }

/* libpq prints NOTICE messages ("relation already exists, skipping") to stderr by default;
   Atrium's log is JSON lines, so they are dropped. */
static inline void atrium_pq_ignore_notice(void *argument, const char *message) {
    (void)argument;
    (void)message;
}
static inline void atrium_pq_silence_notices(PGconn *connection) {
    PQsetNoticeProcessor(connection, atrium_pq_ignore_notice, NULL);
}
#endif

#ifndef ATRIUM_CSQLITE_SHIM_H
#define ATRIUM_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import. */
static inline sqlite3_destructor_type atrium_sqlite_transient(void) { return SQLITE_TRANSIENT; }
static inline sqlite3_destructor_type atrium_sqlite_static(void) { return SQLITE_STATIC; }
/* Turns off SQLite's allocation statistics, which take a global mutex on every malloc;
   must run before the library initializes (a later call returns SQLITE_MISUSE, harmlessly). */
static inline int atrium_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
#endif

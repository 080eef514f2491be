#ifndef ATRIUM_SYSTEM_H
#define ATRIUM_SYSTEM_H
/* Thin wrappers over Linux calls Swift cannot import cleanly: epoll_event is a packed
   struct on x86_64, and the eventfd/timerfd/epoll headers are not part of Glibc's module. */
#include <stdint.h>

/* Interest flags, re-exported as plain constants. */
extern const uint32_t atrium_epollin;
extern const uint32_t atrium_epollout;
extern const uint32_t atrium_epollet;
extern const uint32_t atrium_epollrdhup;
extern const uint32_t atrium_epollhup;
extern const uint32_t atrium_epollerr;
extern const uint32_t atrium_epollexclusive;

int atrium_epoll_create(void);
/* op: 0 add, 1 modify, 2 delete */
int atrium_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/* Waits and unpacks up to max events into the two parallel arrays. */
int atrium_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);
int atrium_eventfd(void);
int atrium_eventfd_signal(int fd);
int atrium_eventfd_drain(int fd);
/* accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; writes the peer's numeric address into
   addr_out (NUL-terminated, at most addr_len bytes) and sets TCP_NODELAY. */
int atrium_accept(int listen_fd, char *addr_out, int addr_len);

/* Creates a non-blocking listening TCP socket bound to host:port (port 0 = ephemeral) with
   SO_REUSEPORT, so each event loop can own a socket on the same port and the kernel spreads
   new connections across them; returns the fd or -errno. With probe_exclusive, a port that
   something else already listens on is refused (EADDRINUSE) instead of shared. */
int atrium_listen(const char *host, int port, int backlog, int probe_exclusive);
/* The port a bound socket listens on, or -1. */
int atrium_local_port(int fd);

/* Relaxed atomic counters over plain uint64 arrays: metrics written by many threads. */
void atrium_counter_add(uint64_t *base, long index, uint64_t value);
uint64_t atrium_counter_load(const uint64_t *base, long index);
/* A signed gauge (open connections). */
long atrium_gauge_add(long *gauge, long delta);
long atrium_gauge_load(const long *gauge);

/* Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread (inherited by threads it starts),
   then waits for SIGTERM or SIGINT and returns the signal number. */
void atrium_block_signals(void);
int atrium_wait_for_termination(void);

/* Formats an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for the current second into out
   (at least 30 bytes); returns the length. */
int atrium_http_date(char *out, int len);
/* Names the calling thread (truncated to 15 bytes) for ps/top/perf. */
void atrium_set_thread_name(const char *name);
/* Monotonic clock in nanoseconds. */
uint64_t atrium_monotonic_ns(void);
/* Wall clock in milliseconds since the epoch. */
int64_t atrium_wall_ms(void);
/* --- Name resolution with a deadline (resolve.c) --- */
struct addrinfo;
/** What atrium_resolve returns when the deadline passed first. */
#define ATRIUM_RESOLVE_TIMEOUT (-10000)
/** getaddrinfo(host) for stream sockets (AF_UNSPEC, AI_ADDRCONFIG), giving up after
 *  timeout_ms: 0 and *result (free with freeaddrinfo), an EAI_* code, or ATRIUM_RESOLVE_TIMEOUT. */
int atrium_resolve(const char *host, int timeout_ms, struct addrinfo **result);

#endif

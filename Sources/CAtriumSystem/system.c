#define _GNU_SOURCE
#include "CAtriumSystem.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

const uint32_t atrium_epollin = EPOLLIN;
const uint32_t atrium_epollout = EPOLLOUT;
const uint32_t atrium_epollet = EPOLLET;
const uint32_t atrium_epollrdhup = EPOLLRDHUP;
const uint32_t atrium_epollhup = EPOLLHUP;
const uint32_t atrium_epollerr = EPOLLERR;
const uint32_t atrium_epollexclusive = EPOLLEXCLUSIVE;

int atrium_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int atrium_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    int cop = op == 0 ? EPOLL_CTL_ADD : (op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL);
    return epoll_ctl(epfd, cop, fd, &ev);
}

int atrium_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) { datas[i] = evs[i].data.u64; events[i] = evs[i].events; }
    return n;
}

int atrium_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int atrium_eventfd_signal(int fd) { uint64_t one = 1; return (int)write(fd, &one, sizeof one); }
int atrium_eventfd_drain(int fd) { uint64_t v; return (int)read(fd, &v, sizeof v); }
int atrium_accept(int listen_fd, char *addr_out, int addr_len) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (addr_out && addr_len > 0) {
        addr_out[0] = 0;
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr_out, addr_len);
        } else if (ss.ss_family == AF_INET6) {
            struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a)) inet_ntop(AF_INET, &a->s6_addr[12], addr_out, addr_len);
            else inet_ntop(AF_INET6, a, addr_out, addr_len);
        }
    }
    return fd;
}

int atrium_listen(const char *host, int port, int backlog, int probe_exclusive) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    int rc = getaddrinfo(host, portbuf, &hints, &res);
    if (rc != 0 || !res) return -EADDRNOTAVAIL;
    int one = 1;
    if (port != 0 && probe_exclusive) {
        /* SO_REUSEPORT would let a second server share the port silently; a plain bind first
           makes "address in use" an error, as users expect. */
        int probe = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0) {
            setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(probe, res->ai_addr, res->ai_addrlen) < 0) {
                int e = errno; close(probe); freeaddrinfo(res); return -e;
            }
            close(probe);
        }
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { int e = errno; freeaddrinfo(res); return -e; }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        int e = errno; close(fd); freeaddrinfo(res); return -e;
    }
    freeaddrinfo(res);
    return fd;
}

int atrium_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

void atrium_counter_add(uint64_t *base, long index, uint64_t value) {
    __atomic_fetch_add(&base[index], value, __ATOMIC_RELAXED);
}
uint64_t atrium_counter_load(const uint64_t *base, long index) {
    return __atomic_load_n(&base[index], __ATOMIC_RELAXED);
}
long atrium_gauge_add(long *gauge, long delta) {
    return __atomic_add_fetch(gauge, delta, __ATOMIC_RELAXED);
}
long atrium_gauge_load(const long *gauge) { return __atomic_load_n(gauge, __ATOMIC_RELAXED); }

void atrium_block_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int atrium_wait_for_termination(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    return sig;
}

int atrium_http_date(char *out, int len) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return (int)strftime(out, (size_t)len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

uint64_t atrium_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t atrium_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void atrium_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, 15);
    buf[15] = 0;
    pthread_setname_np(pthread_self(), buf);
}

#define _GNU_SOURCE
#include "CAtriumSystem.h"
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Name resolution with a deadline (getaddrinfo_a + gai_suspend): a hung resolver must not hold
 * a webhook worker past the attempt's budget. On timeout the request is cancelled; when glibc
 * cannot cancel it (its resolver thread is still using it), the request is left to that thread
 * and leaked on purpose: freeing it would be a use-after-free. */
int atrium_resolve(const char *host, int timeout_ms, struct addrinfo **result) {
    *result = NULL;
    struct gaicb *request = calloc(1, sizeof *request);
    struct addrinfo *hints = calloc(1, sizeof *hints);
    char *name = strdup(host);
    if (!request || !hints || !name) {
        free(request);
        free(hints);
        free(name);
        return EAI_MEMORY;
    }
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_flags = AI_ADDRCONFIG;
    request->ar_name = name;
    request->ar_request = hints;
    struct gaicb *list[1] = {request};
    int status = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (status != 0) {
        free(request);
        free(hints);
        free(name);
        return status;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    long long end = (long long)deadline.tv_sec * 1000 + deadline.tv_nsec / 1000000 + (timeout_ms > 0 ? timeout_ms : 0);
    const struct gaicb *waiting[1] = {request};
    while ((status = gai_error(request)) == EAI_INPROGRESS) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = end - ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        if (left <= 0) break;
        struct timespec wait = {left / 1000, (left % 1000) * 1000000L};
        gai_suspend(waiting, 1, &wait);
    }
    if (status == EAI_INPROGRESS) {
        int cancelled = gai_cancel(request);
        if (cancelled == EAI_NOTCANCELED) return ATRIUM_RESOLVE_TIMEOUT; /* leaked, see above */
        /* EAI_ALLDONE: it finished meanwhile, so its answer stands. */
        status = cancelled == EAI_CANCELED ? ATRIUM_RESOLVE_TIMEOUT : gai_error(request);
    }
    if (status == 0) {
        *result = request->ar_result;
    }
    free(request);
    free(hints);
    free(name);
    return status;
}

/* A minimal webhook receiver for `make bench`: one thread, blocking accept, reads one
 * request (head + Content-Length body), answers 200 with no body, closes. Fast enough that
 * the delivery rate measured is Atrium's, not the receiver's. Prints the count on SIGTERM. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sigaction term = {.sa_handler = on_term}; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGTERM, &term, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1024) != 0) { perror("listen"); return 1; }
    printf("ready\n");
    fflush(stdout);
    static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    static char buffer[1 << 17];
    long count = 0;
    while (!stop) {
        int client = accept(fd, NULL, NULL);
        if (client < 0) continue;
        size_t used = 0;
        long need = -1;
        while (used < sizeof buffer - 1) {
            ssize_t n = read(client, buffer + used, sizeof buffer - 1 - used);
            if (n <= 0) break;
            used += (size_t)n;
            buffer[used] = 0;
            char *end = strstr(buffer, "\r\n\r\n");
            if (!end) continue;
            if (need < 0) {
                long length = 0;
                for (char *line = strstr(buffer, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
                    if (strncasecmp(line + 2, "content-length:", 15) == 0) length = atol(line + 17);
                }
                need = (long)(end - buffer) + 4 + length;
            }
            if ((long)used >= need) break;
        }
        if (need >= 0 && (long)used >= need) {
            count++;
            (void)!write(client, response, sizeof response - 1);
        }
        close(client);
    }
    printf("%ld\n", count);
    return 0;
}

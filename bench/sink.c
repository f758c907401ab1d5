/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ac_sink: a gateway that keeps up, for the notification benchmark. Listens
 * on 127.0.0.1:PORT and answers every HTTP/1.1 request "200 ok" at once, on
 * keep-alive connections, one thread per connection. Counts nothing; the
 * benchmark reads the outcome from the outbox.
 *
 *   ac_sink PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SK_BUF (256 * 1024)

static const char sk_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* The Content-Length of the header block head (NUL-terminated), or 0. */
static size_t sk_length(const char *head)
{
    for (const char *p = head; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (strncasecmp(p, "content-length:", 15) == 0) {
            return (size_t)strtoul(p + 15, NULL, 10);
        }
    }
    return 0;
}

static void *sk_conn(void *arg)
{
    int fd = (int)(long)arg;
    char *buf = malloc(SK_BUF + 1);
    size_t have = 0;

    while (buf) {
        char *end;
        ssize_t n = read(fd, buf + have, SK_BUF - have);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
        buf[have] = '\0';
        /* every complete request in the buffer */
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            size_t head = (size_t)(end - buf) + 4, body;
            end[2] = '\0';
            body = sk_length(buf);
            if (head + body > have) {
                end[2] = '\r';
                break;
            }
            if (write(fd, sk_answer, sizeof(sk_answer) - 1) < 0) {
                have = 0;
                goto out;
            }
            memmove(buf, buf + head + body, have - head - body);
            have -= head + body;
            buf[have] = '\0';
        }
        if (have == SK_BUF) {
            break; /* a request larger than the buffer: not ours */
        }
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

    if (argc != 2 || s < 0) {
        fprintf(stderr, "usage: ac_sink PORT\n");
        return 2;
    }
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 1024) != 0) {
        perror("ac_sink");
        return 1;
    }
    for (;;) {
        pthread_t t;
        int c = accept(s, NULL, NULL);
        if (c < 0) {
            continue;
        }
        (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (pthread_create(&t, NULL, sk_conn, (void *)(long)c) != 0) {
            close(c);
            continue;
        }
        (void)pthread_detach(t);
    }
}

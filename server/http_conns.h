/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The header deadline of HTTP connections (libmicrohttpd has only an idle
 * timeout, which a client that sends one header line every few seconds never
 * trips: slowloris).
 *
 * Every connection is registered when it opens, with a deadline: its whole
 * header block must have arrived header_timeout_ms after it opened, or, on a
 * kept-alive connection, idle_timeout_ms after its previous answer. A
 * watchdog thread looks every 100 ms and shuts down (shutdown(2), both ways)
 * the socket of each connection past its deadline that has no request in
 * progress; libmicrohttpd then sees the end of the stream and closes the
 * connection itself. The table's lock is held while a socket is shut down
 * and while a connection is unregistered (libmicrohttpd tells of a close
 * before it closes the descriptor), so a descriptor is never shut down once
 * its number may have been reused.
 */
#ifndef AC_SERVER_HTTP_CONNS_H
#define AC_SERVER_HTTP_CONNS_H

#include <stdint.h>

struct ac_http_conns;
struct ac_http_conn;

/* Returns new table with its watchdog running, or NULL (logged). */
struct ac_http_conns *ac_http_conns_start(long header_timeout_ms, long idle_timeout_ms);
void ac_http_conns_stop(struct ac_http_conns *t);

/* A connection opened on socket fd: returns its entry (owned by the table). */
struct ac_http_conn *ac_http_conn_opened(struct ac_http_conns *t, int fd);
/* Its header block arrived: no deadline until the request is answered. */
void ac_http_conn_request(struct ac_http_conns *t, struct ac_http_conn *c);
/* Its request was answered: the next header block is due within the idle timeout. */
void ac_http_conn_answered(struct ac_http_conns *t, struct ac_http_conn *c);
/* It closes (before its descriptor is closed): the entry is freed. */
void ac_http_conn_closed(struct ac_http_conns *t, struct ac_http_conn *c);

/* Connections registered, and those closed for a missed header deadline (relaxed). */
long ac_http_conns_open(const struct ac_http_conns *t);
uint64_t ac_http_conns_timed_out(const struct ac_http_conns *t);

#endif

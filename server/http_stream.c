/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streamed answers (http.h, ac_http_stream_*): a chunked body that the
 * worker running the handler writes through a bounded buffer while
 * libmicrohttpd's event thread sends it. The content reader parks the
 * connection (MHD_suspend_connection, the way microhttpd.h prescribes for
 * "no data yet") when the buffer is empty; a write or the end resumes it.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "server/core/err.h"
#include "server/core/mem.h"
#include "server/http.h"

struct ac_http_stream {
    pthread_mutex_t mu;
    pthread_cond_t space; /* the client took some: a writer may go on */
    struct MHD_Connection *conn;
    char *buf; /* AC_HTTP_STREAM_BUFFER bytes; [off, len) wait for the client */
    size_t off, len;
    bool ended; /* the handler is done (failed: cut short) */
    bool failed;
    bool closed;    /* MHD let the response go: the connection is over */
    bool suspended; /* the reader found nothing and parked the connection */
    int refs;       /* the handler's and MHD's */
};

static void http_stream_unref(struct ac_http_stream *s)
{
    bool last;

    pthread_mutex_lock(&s->mu);
    last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->space);
        free(s->buf);
        free(s);
    }
}

/* MHD's content reader, on the event thread: what is buffered, the end, or
 * nothing yet - then the connection is suspended until a write or the end
 * resumes it (MHD's prescribed way; returning 0 alone would spin). */
static ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct ac_http_stream *s = cls;
    ssize_t n;

    (void)pos;
    pthread_mutex_lock(&s->mu);
    if (s->len > s->off) {
        size_t k = s->len - s->off < max ? s->len - s->off : max;
        memcpy(out, s->buf + s->off, k);
        s->off += k;
        if (s->off == s->len) {
            s->off = s->len = 0;
        }
        pthread_cond_signal(&s->space);
        n = (ssize_t)k;
    }
    else if (s->ended) {
        n = s->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    else {
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        n = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void http_stream_free(void *cls)
{
    struct ac_http_stream *s = cls;

    pthread_mutex_lock(&s->mu);
    s->closed = true;
    pthread_cond_broadcast(&s->space);
    pthread_mutex_unlock(&s->mu);
    http_stream_unref(s);
}

/* Under s->mu: lets a parked connection go on. */
static void http_stream_wake(struct ac_http_stream *s)
{
    if (s->suspended && !s->closed) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

struct ac_http_stream *ac_http_stream_begin(struct ac_http_req *r, unsigned status,
                                            const char *content_type, const char *disposition)
{
    struct ac_http_stream *s = ac_xcalloc(1, sizeof(*s));

    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->space, NULL);
    s->buf = ac_xmalloc(AC_HTTP_STREAM_BUFFER);
    s->conn = r->conn;
    s->refs = 2;
    if (r->resp) {
        MHD_destroy_response(r->resp);
    }
    r->resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, http_stream_read, s,
                                                http_stream_free);
    AC_ASSERT(r->resp != NULL);
    (void)MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (disposition) {
        (void)MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    }
    r->status = status;
    ac_http_detach(r);
    return s;
}

bool ac_http_stream_write(struct ac_http_stream *s, const char *data, size_t len)
{
    bool ok = true;

    pthread_mutex_lock(&s->mu);
    while (len > 0 && ok) {
        size_t room, k;
        while (!s->closed && s->len - s->off >= AC_HTTP_STREAM_BUFFER) {
            pthread_cond_wait(&s->space, &s->mu);
        }
        if (s->closed) {
            ok = false;
            break;
        }
        if (s->off > 0) { /* keep what waits at the front */
            memmove(s->buf, s->buf + s->off, s->len - s->off);
            s->len -= s->off;
            s->off = 0;
        }
        room = AC_HTTP_STREAM_BUFFER - s->len;
        k = len < room ? len : room;
        memcpy(s->buf + s->len, data, k);
        s->len += k;
        data += k;
        len -= k;
        http_stream_wake(s);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void ac_http_stream_end(struct ac_http_stream *s, bool ok)
{
    pthread_mutex_lock(&s->mu);
    s->ended = true;
    s->failed = !ok;
    http_stream_wake(s);
    pthread_mutex_unlock(&s->mu);
    http_stream_unref(s);
}

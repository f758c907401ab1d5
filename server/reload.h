/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reloading in-memory copies of database data when it changes: a periodic
 * worker (core/worker.h) polls a version counter (ac_versions.name, bumped by
 * triggers) every AC_RELOAD_POLL_MS on its own connection, and when it moved asks the owner
 * to load a new copy and install it. Used by filter rules and the registry.
 * A change made through this instance's API can wait until it is installed
 * (ac_reloader_poke), so the API answers only once it is in force here.
 */
#ifndef AC_SERVER_RELOAD_H
#define AC_SERVER_RELOAD_H

#include <libpq-fe.h>
#include <stdint.h>

#define AC_RELOAD_POLL_MS 250

struct ac_reload_ops {
    const char *version_name; /* row of ac_versions */
    /* Load a new copy on c; returns it (new) or NULL to keep the current. */
    void *(*load)(void *ctx, PGconn *c);
    /* Install a loaded copy (stolen); the owner frees the one it replaces
     * (c is the thread's connection, for any last writes of the old copy). */
    void (*install)(void *ctx, PGconn *c, void *copy);
    /* Called on every poll before the version check (may be NULL). */
    void (*tick)(void *ctx, PGconn *c);
};

struct ac_reloader;

/*
 * Loads and installs a first copy synchronously (so the owner starts with
 * data), then starts the thread. dsn and ops borrowed for the lifetime.
 * Returns new reloader, or NULL if the first load failed (logged).
 */
struct ac_reloader *ac_reloader_start(const char *dsn, const struct ac_reload_ops *ops, void *ctx);
/* Stops and joins; calls tick a last time. NULL is fine. */
void ac_reloader_stop(struct ac_reloader *r);
/* Reload now and wait (at most 2 s) until the result is installed. */
void ac_reloader_poke(struct ac_reloader *r);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message templates of the notification channels, pure: a small subset of
 * Mustache over a JSON context (the alert, the notification, the contact).
 *   {{alert.type}}          the value at a dotted path ("" when absent;
 *                           numbers and booleans as JSON writes them)
 *   {{#alert.escalated}}…{{/alert.escalated}}
 *                           the inside only when the value is truthy (present,
 *                           not null/false/0/""/[]/{})
 *   {{^alert.acked_by}}…{{/alert.acked_by}}
 *                           the inside only when it is not
 * Values are escaped for where the template puts them: AC_TPL_JSON inside a
 * JSON string (the gateway body templates), AC_TPL_TEXT not at all (chat
 * markdown). Output is bounded (AC_TPL_MAX bytes, then cut).
 */
#ifndef AC_ESCALATION_NOTIFY_TEMPLATE_H
#define AC_ESCALATION_NOTIFY_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AC_TPL_MAX (64 * 1024)

enum ac_tpl_escape { AC_TPL_TEXT, AC_TPL_JSON };

/* Whether text is a well-formed template; err gets the first problem. */
bool ac_tpl_check(const char *text, char *err, size_t errlen);

/* Renders text over ctx (borrowed). Returns new (never NULL; a malformed
 * template renders its malformed part literally). */
char *ac_tpl_render(const char *text, const json_t *ctx, enum ac_tpl_escape esc);

/* The value at a dotted path of ctx, or NULL. Borrowed. */
const json_t *ac_tpl_lookup(const json_t *ctx, const char *path, size_t len);

#endif

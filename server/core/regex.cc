// SPDX-License-Identifier: Apache-2.0
// The C shim over RE2 (regex.h): the only C++ in the tree, kept to what C
// cannot call directly.
#include "server/core/regex.h"

#include <re2/re2.h>

#include <cstdio>
#include <new>

struct ac_regex {
    RE2 re;
    bool anchored;
    ac_regex(const char *p, const RE2::Options &o, bool a) : re(p, o), anchored(a)
    {}
};

static uint64_t regex_compiled;

extern "C" struct ac_regex *ac_regex_compile(const char *pattern, bool anchored, char *why,
                                             size_t whylen)
{
    RE2::Options o;

    o.set_log_errors(false);
    o.set_max_mem(AC_REGEX_MAX_MEM);
    o.set_never_capture(true);
    __atomic_add_fetch(&regex_compiled, 1, __ATOMIC_RELAXED);
    // The pattern is compiled on its own and anchored by the match (FullMatch),
    // not by wrapping its text: "prod)|(staging" must not compile, where
    // "^(?:prod)|(staging)$" would, and match "production-db".
    ac_regex *re = new (std::nothrow) ac_regex(pattern, o, anchored);
    if (!re) {
        (void)snprintf(why, whylen, "out of memory");
        return nullptr;
    }
    if (!re->re.ok()) {
        (void)snprintf(why, whylen, "%s", re->re.error().c_str());
        delete re;
        return nullptr;
    }
    return re;
}

extern "C" bool ac_regex_match(const struct ac_regex *re, const char *text, size_t len)
{
    re2::StringPiece t(text, len);

    return re->anchored ? RE2::FullMatch(t, re->re) : RE2::PartialMatch(t, re->re);
}

extern "C" void ac_regex_free(struct ac_regex *re)
{
    delete re;
}

extern "C" uint64_t ac_regex_compiles(void)
{
    return __atomic_load_n(&regex_compiled, __ATOMIC_RELAXED);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer targets (scripts/fuzz.sh builds them with clang's
 * -fsanitize=fuzzer). Each file defines LLVMFuzzerTestOneInput; replay.c
 * gives every target a main that runs it over files, so the ordinary test
 * build replays the seeds and every crash ever found (regressions/) under
 * ASan and UBSan with GCC too.
 */
#ifndef AC_TESTS_FUZZ_H
#define AC_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy (new). */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* libFuzzer harness for `tcptop-replay -o OUT --anonymize KEY` (with --from/--to and
 * --anonymize-comm chosen from the input): fuzz_cut.c with an anonymizer. */
#define FUZZ_ANON 1
#include "fuzz_cut.c"

// STUB written by the lead so that record/source.c links: replace this file entirely.
#include <errno.h>
#include <stdio.h>
#include "sockdiag.h"
int tt_sockdiag_open(struct tt_sockdiag **out, const struct tt_src_opts *o, char *err, size_t n)
{ (void)o; *out = NULL; snprintf(err, n, "the sock_diag source is not built yet"); return -ENOSYS; }
int tt_sockdiag_poll(struct tt_sockdiag *d, int t, tt_src_cb cb, void *c) { (void)d; (void)t; (void)cb; (void)c; return 0; }
int tt_sockdiag_flush(struct tt_sockdiag *d, tt_src_cb cb, void *c) { (void)d; (void)cb; (void)c; return 0; }
const char *tt_sockdiag_probes(const struct tt_sockdiag *d) { (void)d; return ""; }
const char *tt_sockdiag_missing(const struct tt_sockdiag *d) { (void)d; return NULL; }
const char *tt_sockdiag_warning(const struct tt_sockdiag *d) { (void)d; return NULL; }
void tt_sockdiag_print_missing(const struct tt_sockdiag *d, const char *p, FILE *f) { (void)d; (void)p; (void)f; }
void tt_sockdiag_print_check(const struct tt_sockdiag *d, FILE *f) { (void)d; (void)f; }
int64_t tt_sockdiag_clock_offset(const struct tt_sockdiag *d) { (void)d; return 0; }
void tt_sockdiag_stats(const struct tt_sockdiag *d, struct tt_src_stats *s) { (void)d; (void)s; }
int tt_sockdiag_after_drop(struct tt_sockdiag *d, char *e, size_t n) { (void)d; (void)e; (void)n; return 0; }
void tt_sockdiag_close(struct tt_sockdiag *d) { (void)d; }

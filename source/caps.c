// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The one capability table of a source handle (source_int.h): what the source can do here,
 * each capability ok, not needed in this mode, or missing with why and what the data lacks
 * without it; said as the capture header's text, a view's warning, stderr lines and --check.
 * Each source names its capabilities (src_caps.c, sd_caps.c) and sets their states.
 */
#include <stdio.h>
#include <string.h>

#include "source_int.h"

/* "name (why): loss" of each missing capability joined by "; ", and the warning naming them. */
static void compose(struct tt_source_caps *c)
{
	size_t used = 0, wused = 0;
	char names[256];

	c->missing[0] = names[0] = '\0';
	for (int i = 0; i < c->n; i++) {
		if (c->state[i] != TT_SOURCE_CAP_MISSING)
			continue;
		if (used < sizeof(c->missing))
			used +=
			    snprintf(c->missing + used, sizeof(c->missing) - used, "%s%s (%s): %s",
				     used ? "; " : "", c->desc[i].name, c->why[i], c->desc[i].loss);
		if (wused < sizeof(names))
			wused += snprintf(names + wused, sizeof(names) - wused, "%s%s",
					  wused ? " " : "", c->desc[i].name);
	}
	c->warning[0] = '\0';
	if (names[0])
		snprintf(c->warning, sizeof(c->warning), "%s%s%s", c->warn_lead, names,
			 c->warn_tail);
}

void tt_source_caps_init(struct tt_source *h, const struct tt_source_cap_desc *desc, int n,
			 const char *warn_lead, const char *warn_tail)
{
	struct tt_source_caps *c = &h->caps;

	memset(c, 0, sizeof(*c));
	c->desc = desc;
	c->n = n < TT_SOURCE_MAX_CAPS ? n : TT_SOURCE_MAX_CAPS;
	c->warn_lead = warn_lead;
	c->warn_tail = warn_tail;
}

void tt_source_cap_set(struct tt_source *h, int cap, int state, const char *why)
{
	struct tt_source_caps *c = &h->caps;

	if (cap < 0 || cap >= c->n)
		return;
	c->state[cap] = state;
	snprintf(c->why[cap], sizeof(c->why[cap]), "%s", why ? why : "");
	compose(c);
}

const char *tt_source_caps_missing(const struct tt_source *h)
{
	return h->caps.missing[0] ? h->caps.missing : NULL;
}

const char *tt_source_caps_warning(const struct tt_source *h)
{
	return h->caps.warning[0] ? h->caps.warning : NULL;
}

void tt_source_caps_print_missing(const struct tt_source *h, const char *prog, FILE *f)
{
	const struct tt_source_caps *c = &h->caps;

	for (int i = 0; i < c->n; i++)
		if (c->state[i] == TT_SOURCE_CAP_MISSING)
			fprintf(f, "%s: warning: missing %s (%s): %s\n", prog, c->desc[i].name,
				c->why[i], c->desc[i].loss);
}

void tt_source_caps_print_check(const struct tt_source *h, FILE *f)
{
	static const char *const state[] = {
	    [TT_SOURCE_CAP_OK] = "ok",
	    [TT_SOURCE_CAP_UNUSED] = "not needed",
	    [TT_SOURCE_CAP_MISSING] = "MISSING",
	};
	const struct tt_source_caps *c = &h->caps;

	for (int i = 0; i < c->n; i++) {
		int st = c->state[i];

		fprintf(f, "%-15s %-10s %s", c->desc[i].name, state[st], c->why[i]);
		if (st == TT_SOURCE_CAP_MISSING)
			fprintf(f, ": %s", c->desc[i].loss);
		fputc('\n', f);
	}
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The bounded pid -> name cache of the state table (see procmap.h). */
#include <string.h>

#include "procmap.h"

static struct procmap_ent *set_of(const struct procmap *pm, uint32_t pid)
{
	return (struct procmap_ent *)pm->ents[(pid * 2654435761u) >> 23 & (PROCMAP_SETS - 1)];
}

const char *procmap_get(const struct procmap *pm, uint32_t pid)
{
	const struct procmap_ent *s = set_of(pm, pid);

	for (int w = 0; pid && w < PROCMAP_WAYS; w++)
		if (s[w].pid == pid)
			return s[w].comm;
	return NULL;
}

void procmap_put(struct procmap *pm, uint32_t pid, const char *comm)
{
	struct procmap_ent *s = set_of(pm, pid), *victim = &s[0];

	if (!pid)
		return;
	for (int w = 0; w < PROCMAP_WAYS; w++) {
		if (s[w].pid == pid) {
			victim = &s[w];
			break;
		}
		if (!s[w].pid)
			victim = &s[w];
		else if (victim->pid && s[w].stamp - victim->stamp > UINT32_MAX / 2)
			victim = &s[w]; /* older (stamps wrap, compare by difference) */
	}
	victim->pid = pid;
	victim->stamp = pm->clock++;
	memcpy(victim->comm, comm, TT_COMM_LEN);
}

void procmap_del(struct procmap *pm, uint32_t pid)
{
	struct procmap_ent *s = set_of(pm, pid);

	for (int w = 0; pid && w < PROCMAP_WAYS; w++)
		if (s[w].pid == pid)
			s[w].pid = 0;
}

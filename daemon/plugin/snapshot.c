/* Registry snapshots with reference counts, freed on the owner thread. */
#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

int pp_snaps_init(struct pp_snaps *h, bool deferred)
{
	h->cur = h->retired = NULL;
	h->wake_fd = -1;
	if (pthread_mutex_init(&h->lock, NULL) != 0)
		return PP_ERR;
	if (deferred && (h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		pthread_mutex_destroy(&h->lock);
		return PP_EIO;
	}
	return PP_OK;
}

static void snapshot_free(struct pp_snapshot *s)
{
	pp_registry_free(s->reg);
	pp_config_free(s->cfg);
	free(s);
}

struct pp_snapshot *pp_snapshot_new(struct pp_config *cfg, struct pp_registry *reg)
{
	struct pp_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cfg = cfg;
	s->reg = reg;
	return s;
}

struct pp_snapshot *pp_snaps_acquire(struct pp_snaps *h)
{
	struct pp_snapshot *s;

	pthread_mutex_lock(&h->lock);
	s = h->cur;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&h->lock);
	return s;
}

void pp_snapshot_release(struct pp_snapshot *s)
{
	struct pp_snaps *h;
	uint64_t one = 1;

	if (!s)
		return;
	h = s->holder; /* read before the decrement: s may be freed right after */
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (h && h->wake_fd >= 0) {
		/* retired and unused: the owner frees it */
		while (write(h->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		return;
	}
	snapshot_free(s);
}

void pp_snaps_swap(struct pp_snaps *h, struct pp_snapshot *s)
{
	struct pp_snapshot *old;

	pthread_mutex_lock(&h->lock);
	old = h->cur;
	s->generation = old ? old->generation + 1 : 1;
	s->holder = h;
	atomic_store(&s->refs, 1); /* the holder's own reference */
	h->cur = s;
	if (old && h->wake_fd >= 0) {
		old->next = h->retired;
		h->retired = old;
	}
	pthread_mutex_unlock(&h->lock);
	pp_snapshot_release(old);
}

size_t pp_snaps_reap(struct pp_snaps *h)
{
	struct pp_snapshot **pp, *free_list = NULL;
	uint64_t v;
	size_t busy = 0;

	if (h->wake_fd >= 0)
		while (read(h->wake_fd, &v, sizeof(v)) > 0)
			;
	pthread_mutex_lock(&h->lock);
	for (pp = &h->retired; *pp;) {
		struct pp_snapshot *s = *pp;

		if (atomic_load(&s->refs) == 0) {
			*pp = s->next;
			s->next = free_list;
			free_list = s;
		} else {
			busy++;
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&h->lock);
	while (free_list) {
		struct pp_snapshot *s = free_list;

		free_list = s->next;
		snapshot_free(s);
	}
	return busy;
}

int pp_snaps_fd(const struct pp_snaps *h)
{
	return h->wake_fd;
}

void pp_snaps_fini(struct pp_snaps *h)
{
	struct pp_snapshot *s;

	pthread_mutex_lock(&h->lock);
	s = h->cur;
	h->cur = NULL;
	pthread_mutex_unlock(&h->lock);
	if (s) {
		int fd = h->wake_fd;

		/* drop the holder's reference; free inline whatever the mode */
		h->wake_fd = -1;
		pp_snapshot_release(s);
		h->wake_fd = fd;
	}
	pp_snaps_reap(h);
	/* anything still referenced now is a leak of a caller: free it anyway */
	while ((s = h->retired)) {
		h->retired = s->next;
		snapshot_free(s);
	}
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	h->wake_fd = -1;
	pthread_mutex_destroy(&h->lock);
}

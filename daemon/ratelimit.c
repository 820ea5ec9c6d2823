/*
 * ratelimit: rolling-window budgets and the fair admission queue.
 * See ratelimit.h for the contract.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ratelimit.h"
#include "tz.h"

enum { REQ_IDLE, REQ_QUEUED, REQ_HEAD, REQ_SENT };

/* Allocation bounds: a budget is a ring of at most that many int64. */
#define LIMIT_MAX    1000000
#define ACCOUNTS_MAX 1000000
#define BUCKETS_INIT 64
/* A ring starts (and shrinks back to) this many slots, or the limit. */
#define WIN_MIN 16

/* One hour: no server asks longer in good faith; a longer value is a bug or
 * garbage and must not silence an account for days. */
#define WAIT_CAP_MS INT64_C(3600000)

struct ratelimit_limits
ratelimit_limits_default(void)
{
	struct ratelimit_limits lim = {
	    .per_account = 120,
	    .per_ip = 1000,
	    .create = 5,
	    .logs = 35,
	    .window_ms = 60000,
	};
	return lim;
}

/* ---- windows --------------------------------------------------------- */

static int
win_init(struct ratelimit_window *w, int limit)
{
	w->cap = limit < WIN_MIN ? limit : WIN_MIN;
	w->t = calloc((size_t)w->cap, sizeof *w->t);
	w->limit = limit;
	w->head = 0;
	w->count = 0;
	return w->t ? 0 : -ENOMEM;
}

static int64_t
win_at(const struct ratelimit_window *w, int i)
{
	return w->t[(w->head + i) % w->cap];
}

/* Move the entries into a ring of cap slots, oldest first at 0; false
 * (nothing changed) when out of memory. */
static bool
win_resize(struct ratelimit_window *w, int cap)
{
	int64_t *t = malloc((size_t)cap * sizeof *t);

	if (t == NULL)
		return false;
	for (int i = 0; i < w->count; i++)
		t[i] = win_at(w, i);
	free(w->t);
	w->t = t;
	w->cap = cap;
	w->head = 0;
	return true;
}

/* Earliest time >= now at which the window takes one more send.  Only the
 * oldest entry matters: a full ring waits for it to expire.  The ring is
 * full at the limit, or below it when it could not grow. */
static int64_t
win_free_at(const struct ratelimit_window *w, int64_t now, int64_t span)
{
	int64_t t;

	if (w->count < w->cap)
		return now;
	t = w->t[w->head] + span;
	return t > now ? t : now;
}

/* Sends still inside the window at now (entries are sorted). */
static int
win_live(const struct ratelimit_window *w, int64_t now, int64_t span)
{
	int lo = 0, hi = w->count;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (win_at(w, mid) + span <= now)
			lo = mid + 1;
		else
			hi = mid;
	}
	return w->count - lo;
}

static void
win_push(struct ratelimit_window *w, int64_t now, int64_t span, int64_t v)
{
	while (w->count > 0 && w->t[w->head] + span <= now) {
		w->head = (w->head + 1) % w->cap;
		w->count--;
	}
	/* A burst that has passed gives its slots back: halve a ring that
	 * is three quarters empty (the quarter keeps growing and shrinking
	 * apart, so a steady rate does not copy the ring back and forth). */
	if (w->cap > WIN_MIN && w->count < w->cap / 4)
		win_resize(w, w->cap / 2 > WIN_MIN ? w->cap / 2 : WIN_MIN);
	/* The caller checked win_free_at, so there is room after pruning. */
	w->t[(w->head + w->count) % w->cap] = v;
	w->count++;
	/* Grow now, not at the next send: win_free_at must see the room,
	 * and a failure here only leaves the ring full until its oldest
	 * send expires. */
	if (w->count == w->cap && w->cap < w->limit)
		win_resize(w, w->cap <= w->limit / 2 ? w->cap * 2 : w->limit);
}

/* Drop one entry equal to v.  Equal entries are interchangeable, so any of
 * them will do and the ring stays sorted. */
static void
win_remove(struct ratelimit_window *w, int64_t v)
{
	for (int i = w->count - 1; i >= 0; i--) {
		int64_t x = win_at(w, i);
		if (x < v)
			return;
		if (x == v) {
			for (int j = i; j < w->count - 1; j++)
				w->t[(w->head + j) % w->cap] = win_at(w, j + 1);
			w->count--;
			return;
		}
	}
}

static struct ratelimit_window *
class_win(struct ratelimit_account *a, int cls)
{
	if (cls == RATELIMIT_CREATE)
		return &a->create;
	if (cls == RATELIMIT_LOGS)
		return &a->logs;
	return NULL;
}

/* ---- the ring of accounts with queued requests ------------------------ */

static int
account_queued(const struct ratelimit_account *a)
{
	return a->queued[RATELIMIT_POLL] + a->queued[RATELIMIT_WORK];
}

/* Inserted just behind the account whose turn is next: the back of the
 * round, so a newcomer cannot jump ahead of accounts already waiting. */
static void
active_insert(struct ratelimit *rl, int i)
{
	struct ratelimit_account *a = &rl->acct[i];
	int f, b;

	if (rl->active < 0) {
		a->anext = a->aprev = i;
		rl->active = i;
		return;
	}
	f = rl->active;
	b = rl->acct[f].aprev;
	a->anext = f;
	a->aprev = b;
	rl->acct[b].anext = i;
	rl->acct[f].aprev = i;
}

static void
active_remove(struct ratelimit *rl, int i)
{
	struct ratelimit_account *a = &rl->acct[i];

	if (a->anext == i) {
		rl->active = -1;
	} else {
		rl->acct[a->aprev].anext = a->anext;
		rl->acct[a->anext].aprev = a->aprev;
		if (rl->active == i)
			rl->active = a->anext;
	}
	a->anext = a->aprev = -1;
}

/* ---- the flow table: (account, prio, class, flow) -> flow head -------- */

static size_t
flow_hash(const struct ratelimit *rl, const struct ratelimit_req *r)
{
	uint64_t h = r->flow;

	h ^= (uint64_t)(unsigned)r->account * UINT64_C(0x9e3779b97f4a7c15);
	h ^= (uint64_t)(r->prio * RATELIMIT_NCLASS + r->cls + 1) *
	     UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 31;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 29;
	return (size_t)h & (rl->n_buckets - 1);
}

static bool
same_flow(const struct ratelimit_req *a, const struct ratelimit_req *b)
{
	return a->flow == b->flow && a->account == b->account &&
	       a->prio == b->prio && a->cls == b->cls;
}

static struct ratelimit_req *
flow_find(const struct ratelimit *rl, const struct ratelimit_req *r)
{
	struct ratelimit_req *h = rl->flows[flow_hash(rl, r)];

	while (h && !same_flow(h, r))
		h = h->hnext;
	return h;
}

static void
flow_link(struct ratelimit *rl, struct ratelimit_req *h)
{
	struct ratelimit_req **b = &rl->flows[flow_hash(rl, h)];

	h->hprev = NULL;
	h->hnext = *b;
	if (*b)
		(*b)->hprev = h;
	*b = h;
}

static void
flow_unlink(struct ratelimit *rl, struct ratelimit_req *h)
{
	if (h->hprev)
		h->hprev->hnext = h->hnext;
	else
		rl->flows[flow_hash(rl, h)] = h->hnext;
	if (h->hnext)
		h->hnext->hprev = h->hprev;
}

/* n becomes the head of old's flow: same key, so same chain position. */
static void
flow_replace(struct ratelimit *rl, struct ratelimit_req *old,
             struct ratelimit_req *n)
{
	n->hnext = old->hnext;
	n->hprev = old->hprev;
	if (n->hprev)
		n->hprev->hnext = n;
	else
		rl->flows[flow_hash(rl, old)] = n;
	if (n->hnext)
		n->hnext->hprev = n;
}

/* Failure only leaves longer chains behind, so it is not reported. */
static void
flow_grow(struct ratelimit *rl)
{
	size_t oldn = rl->n_buckets;
	struct ratelimit_req **old = rl->flows;
	struct ratelimit_req **nb = calloc(oldn * 2, sizeof *nb);

	if (nb == NULL)
		return;
	rl->flows = nb;
	rl->n_buckets = oldn * 2;
	for (size_t i = 0; i < oldn; i++) {
		struct ratelimit_req *h = old[i];
		while (h) {
			struct ratelimit_req *next = h->hnext;
			flow_link(rl, h);
			h = next;
		}
	}
	free(old);
}

/* ---- the rotation of flow heads of one (account, prio, class) --------- */

/* At the back of the round: just before the flow whose turn is next. */
static void
ring_insert(struct ratelimit_req **ring, struct ratelimit_req *h)
{
	struct ratelimit_req *f = *ring;

	if (f == NULL) {
		h->rnext = h->rprev = h;
		*ring = h;
		return;
	}
	h->rnext = f;
	h->rprev = f->rprev;
	f->rprev->rnext = h;
	f->rprev = h;
}

static void
ring_remove(struct ratelimit_req **ring, struct ratelimit_req *h)
{
	if (h->rnext == h) {
		*ring = NULL;
		return;
	}
	h->rprev->rnext = h->rnext;
	h->rnext->rprev = h->rprev;
	if (*ring == h)
		*ring = h->rnext;
}

static void
ring_replace(struct ratelimit_req **ring, struct ratelimit_req *old,
             struct ratelimit_req *n)
{
	if (old->rnext == old) {
		n->rnext = n->rprev = n;
	} else {
		n->rnext = old->rnext;
		n->rprev = old->rprev;
		n->rprev->rnext = n;
		n->rnext->rprev = n;
	}
	if (*ring == old)
		*ring = n;
}

/* Take flow head h out of the queue; its successor inherits its place in
 * the rotation, which advances only when h leaves because it had its turn
 * (a cancel must not cost the flow its turn). */
static void
pop_head(struct ratelimit *rl, struct ratelimit_req **ring,
         struct ratelimit_req *h, bool had_turn)
{
	struct ratelimit_req *n = h->next;

	if (n == h) {
		ring_remove(ring, h);
		flow_unlink(rl, h);
		rl->n_flows--;
		return;
	}
	h->prev->next = n;
	n->prev = h->prev;
	ring_replace(ring, h, n);
	flow_replace(rl, h, n);
	n->state = REQ_HEAD;
	if (had_turn)
		*ring = n->rnext;
}

/* ---- setup ------------------------------------------------------------ */

static bool
limits_ok(const struct ratelimit_limits *l)
{
	return l->per_account >= 1 && l->per_account <= LIMIT_MAX &&
	       l->per_ip >= 1 && l->per_ip <= LIMIT_MAX && l->create >= 1 &&
	       l->create <= LIMIT_MAX && l->logs >= 1 && l->logs <= LIMIT_MAX &&
	       l->window_ms >= 1 && l->window_ms <= INT64_C(1) << 40;
}

static int
account_init(struct ratelimit *rl, struct ratelimit_account *a)
{
	memset(a, 0, sizeof *a);
	a->anext = a->aprev = -1;
	if (win_init(&a->sent, rl->lim.per_account) < 0 ||
	    win_init(&a->create, rl->lim.create) < 0 ||
	    win_init(&a->logs, rl->lim.logs) < 0) {
		free(a->sent.t);
		free(a->create.t);
		free(a->logs.t);
		return -ENOMEM;
	}
	return 0;
}

static void
account_free(struct ratelimit_account *a)
{
	free(a->sent.t);
	free(a->create.t);
	free(a->logs.t);
}

int
ratelimit_init(struct ratelimit *rl, const struct ratelimit_limits *lim,
               int n_accounts)
{
	memset(rl, 0, sizeof *rl);
	rl->lim = lim ? *lim : ratelimit_limits_default();
	rl->active = -1;
	rl->last_ms = INT64_MIN;
	if (!limits_ok(&rl->lim) || n_accounts < 0 || n_accounts > ACCOUNTS_MAX)
		return -EINVAL;
	rl->n_buckets = BUCKETS_INIT;
	rl->flows = calloc(rl->n_buckets, sizeof *rl->flows);
	if (rl->flows == NULL || win_init(&rl->ip, rl->lim.per_ip) < 0)
		goto nomem;
	if (n_accounts > 0) {
		rl->acct = calloc((size_t)n_accounts, sizeof *rl->acct);
		if (rl->acct == NULL)
			goto nomem;
	}
	for (; rl->n_accounts < n_accounts; rl->n_accounts++)
		if (account_init(rl, &rl->acct[rl->n_accounts]) < 0)
			goto nomem;
	return 0;
nomem:
	ratelimit_free(rl);
	return -ENOMEM;
}

void
ratelimit_free(struct ratelimit *rl)
{
	for (int i = 0; i < rl->n_accounts; i++)
		account_free(&rl->acct[i]);
	free(rl->acct);
	free(rl->ip.t);
	free(rl->flows);
	rl->acct = NULL;
	rl->ip.t = NULL;
	rl->flows = NULL;
	rl->n_accounts = 0;
	rl->queued = 0;
	rl->active = -1;
}

int
ratelimit_add_account(struct ratelimit *rl)
{
	struct ratelimit_account *na;

	if (rl->n_accounts >= ACCOUNTS_MAX)
		return -ENOMEM;
	na = realloc(rl->acct, ((size_t)rl->n_accounts + 1) * sizeof *na);
	if (na == NULL)
		return -ENOMEM;
	rl->acct = na;
	if (account_init(rl, &rl->acct[rl->n_accounts]) < 0)
		return -ENOMEM;
	return rl->n_accounts++;
}

void
ratelimit_req_init(struct ratelimit_req *req, int account,
                   enum ratelimit_class cls, enum ratelimit_prio prio,
                   uint64_t flow)
{
	memset(req, 0, sizeof *req);
	req->account = account;
	req->cls = cls;
	req->prio = prio;
	req->flow = flow;
	req->state = REQ_IDLE;
}

/* ---- queue ------------------------------------------------------------ */

int
ratelimit_enqueue(struct ratelimit *rl, struct ratelimit_req *req)
{
	struct ratelimit_account *a;
	struct ratelimit_req *h;

	if (req->account < 0 || req->account >= rl->n_accounts ||
	    (unsigned)req->cls >= RATELIMIT_NCLASS ||
	    (unsigned)req->prio >= RATELIMIT_NPRIO)
		return -EINVAL;
	if (req->state == REQ_QUEUED || req->state == REQ_HEAD)
		return -EBUSY;
	a = &rl->acct[req->account];
	h = flow_find(rl, req);
	if (h) {
		req->next = h;
		req->prev = h->prev;
		h->prev->next = req;
		h->prev = req;
		req->state = REQ_QUEUED;
	} else {
		if (rl->n_flows >= rl->n_buckets)
			flow_grow(rl);
		req->next = req->prev = req;
		flow_link(rl, req);
		ring_insert(&a->ring[req->prio][req->cls], req);
		rl->n_flows++;
		req->state = REQ_HEAD;
	}
	if (account_queued(a) == 0)
		active_insert(rl, req->account);
	a->queued[req->prio]++;
	rl->queued++;
	return 0;
}

static void
account_dequeued(struct ratelimit *rl, int i, enum ratelimit_prio prio)
{
	struct ratelimit_account *a = &rl->acct[i];

	a->queued[prio]--;
	rl->queued--;
	if (account_queued(a) == 0)
		active_remove(rl, i);
}

int
ratelimit_cancel(struct ratelimit *rl, struct ratelimit_req *req)
{
	struct ratelimit_account *a;

	if (req->state != REQ_QUEUED && req->state != REQ_HEAD)
		return -ENOENT;
	a = &rl->acct[req->account];
	if (req->state == REQ_HEAD) {
		pop_head(rl, &a->ring[req->prio][req->cls], req, false);
	} else {
		/* Circular FIFO: unlinking needs neither the head nor tail. */
		req->prev->next = req->next;
		req->next->prev = req->prev;
	}
	req->next = req->prev = NULL;
	req->state = REQ_IDLE;
	account_dequeued(rl, req->account, req->prio);
	return 0;
}

/* The request account i may send now, taken out of its queue; or NULL. */
static struct ratelimit_req *
account_pick(struct ratelimit *rl, int i, int64_t now)
{
	struct ratelimit_account *a = &rl->acct[i];
	int64_t span = rl->lim.window_ms;
	bool ok[RATELIMIT_NCLASS];

	if (now < a->paused_until || win_free_at(&a->sent, now, span) > now)
		return NULL;
	ok[RATELIMIT_NORMAL] = true;
	ok[RATELIMIT_CREATE] = win_free_at(&a->create, now, span) <= now;
	ok[RATELIMIT_LOGS] = win_free_at(&a->logs, now, span) <= now;
	for (int p = 0; p < RATELIMIT_NPRIO; p++) {
		for (int k = 0; k < RATELIMIT_NCLASS; k++) {
			int c = (a->cursor[p] + k) % RATELIMIT_NCLASS;
			struct ratelimit_req *h = a->ring[p][c];
			if (h == NULL || !ok[c])
				continue;
			a->cursor[p] = (c + 1) % RATELIMIT_NCLASS;
			pop_head(rl, &a->ring[p][c], h, true);
			return h;
		}
	}
	return NULL;
}

/* Earliest time >= now at which account a can send something it holds. */
static int64_t
account_free_at(const struct ratelimit *rl, struct ratelimit_account *a,
                int64_t now)
{
	int64_t span = rl->lim.window_ms;
	int64_t t = a->paused_until > now ? a->paused_until : now;
	int64_t c = INT64_MAX, x;

	x = win_free_at(&a->sent, now, span);
	if (x > t)
		t = x;
	for (int k = 0; k < RATELIMIT_NCLASS; k++) {
		const struct ratelimit_window *w = class_win(a, k);
		if (a->ring[RATELIMIT_POLL][k] == NULL &&
		    a->ring[RATELIMIT_WORK][k] == NULL)
			continue;
		x = w ? win_free_at(w, now, span) : now;
		if (x < c)
			c = x;
	}
	return c > t ? c : t;
}

static void
admit(struct ratelimit *rl, struct ratelimit_account *a,
      struct ratelimit_req *r, int64_t now)
{
	int64_t span = rl->lim.window_ms;
	struct ratelimit_window *cw = class_win(a, r->cls);
	/* A clock that steps back must not unsort the rings: record the send
	 * no earlier than the last one, which only errs on the safe side. */
	int64_t v = now > rl->last_ms ? now : rl->last_ms;

	rl->last_ms = v;
	win_push(&rl->ip, now, span, v);
	win_push(&a->sent, now, span, v);
	if (cw)
		win_push(cw, now, span, v);
	r->sent_ms = v;
	r->next = r->prev = NULL;
	r->state = REQ_SENT;
}

struct ratelimit_req *
ratelimit_next(struct ratelimit *rl, int64_t now_ms, int64_t *wake_ms)
{
	int64_t best = INT64_MAX, ipfree;
	int i;

	if (rl->queued == 0) {
		*wake_ms = -1;
		return NULL;
	}
	ipfree = win_free_at(&rl->ip, now_ms, rl->lim.window_ms);
	if (ipfree <= now_ms) {
		i = rl->active;
		do {
			struct ratelimit_account *a = &rl->acct[i];
			struct ratelimit_req *r = account_pick(rl, i, now_ms);
			if (r) {
				admit(rl, a, r, now_ms);
				rl->active = a->anext;
				account_dequeued(rl, i, r->prio);
				return r;
			}
			i = a->anext;
		} while (i != rl->active);
	}
	i = rl->active;
	do {
		int64_t t = account_free_at(rl, &rl->acct[i], now_ms);
		if (t < best)
			best = t;
		i = rl->acct[i].anext;
	} while (i != rl->active);
	*wake_ms = best > ipfree ? best : ipfree;
	return NULL;
}

int
ratelimit_restamp(struct ratelimit *rl, struct ratelimit_req *req,
                  int64_t now_ms)
{
	struct ratelimit_account *a;
	struct ratelimit_window *cw;
	int64_t span = rl->lim.window_ms, v;

	if (req->state != REQ_SENT || req->account < 0 ||
	    req->account >= rl->n_accounts)
		return -EINVAL;
	/* Already out of every window (rings prune only expired entries,
	 * so anything younger is still in all of them): nothing to move. */
	if (req->sent_ms + span <= now_ms || now_ms <= req->sent_ms)
		return 0;
	a = &rl->acct[req->account];
	cw = class_win(a, req->cls);
	v = now_ms > rl->last_ms ? now_ms : rl->last_ms;
	rl->last_ms = v;
	/* remove then push: the ring has room again, and v is not older
	 * than any entry, so it stays sorted */
	win_remove(&rl->ip, req->sent_ms);
	win_remove(&a->sent, req->sent_ms);
	if (cw)
		win_remove(cw, req->sent_ms);
	win_push(&rl->ip, now_ms, span, v);
	win_push(&a->sent, now_ms, span, v);
	if (cw)
		win_push(cw, now_ms, span, v);
	req->sent_ms = v;
	return 0;
}

int
ratelimit_release(struct ratelimit *rl, struct ratelimit_req *req)
{
	struct ratelimit_account *a;
	struct ratelimit_window *cw;

	if (req->state != REQ_SENT || req->account < 0 ||
	    req->account >= rl->n_accounts)
		return -EINVAL;
	a = &rl->acct[req->account];
	cw = class_win(a, req->cls);
	win_remove(&rl->ip, req->sent_ms);
	win_remove(&a->sent, req->sent_ms);
	if (cw)
		win_remove(cw, req->sent_ms);
	req->state = REQ_IDLE;
	return 0;
}

int
ratelimit_pause(struct ratelimit *rl, int account, int64_t until_ms)
{
	struct ratelimit_account *a;

	if (account < 0 || account >= rl->n_accounts)
		return -EINVAL;
	a = &rl->acct[account];
	if (until_ms > a->paused_until)
		a->paused_until = until_ms;
	return 0;
}

static int
min_int(int a, int b)
{
	return a < b ? a : b;
}

int
ratelimit_status(const struct ratelimit *rl, int account, int64_t now_ms,
                 struct ratelimit_status *st)
{
	const struct ratelimit_account *a;
	int64_t span = rl->lim.window_ms;
	bool paused;

	if (account < 0 || account >= rl->n_accounts)
		return -EINVAL;
	a = &rl->acct[account];
	paused = now_ms < a->paused_until;
	st->queued_poll = a->queued[RATELIMIT_POLL];
	st->queued_work = a->queued[RATELIMIT_WORK];
	st->remaining_ip = rl->lim.per_ip - win_live(&rl->ip, now_ms, span);
	st->used = win_live(&a->sent, now_ms, span);
	st->remaining = paused ? 0
	                       : min_int(st->remaining_ip,
	                                 rl->lim.per_account -
	                                     win_live(&a->sent, now_ms, span));
	st->remaining_create = min_int(
	    st->remaining, rl->lim.create - win_live(&a->create, now_ms, span));
	st->remaining_logs = min_int(
	    st->remaining, rl->lim.logs - win_live(&a->logs, now_ms, span));
	st->paused_until = paused ? a->paused_until : 0;
	return 0;
}

size_t
ratelimit_queued(const struct ratelimit *rl)
{
	return rl->queued;
}

/* ---- response headers ------------------------------------------------- */

/* Saturation for parsed values, in ms: far above any epoch-ms timestamp
 * times 1000, far below INT64_MAX. */
#define NUM_SAT INT64_C(4000000000000000000)

static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "digits[.digits]" seconds at s, as ms rounded up (saturating).  The end,
 * or NULL when no number starts at s. */
static const char *
parse_seconds(const char *s, int64_t *ms)
{
	int64_t v = 0;
	int64_t scale = 1000;
	bool frac_rest = false;

	if (!is_digit(*s))
		return NULL;
	for (; is_digit(*s); s++)
		v = v > NUM_SAT / 10000 ? NUM_SAT / 1000 : v * 10 + (*s - '0');
	v *= 1000;
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return NULL;
		for (; is_digit(*s); s++) {
			scale /= 10;
			if (scale > 0)
				v += (*s - '0') * scale;
			else if (*s != '0')
				frac_rest = true;
		}
	}
	*ms = v + frac_rest;
	return s;
}

/* The whole value (OWS allowed around) is a number of seconds. */
static bool
parse_seconds_only(const char *s, int64_t *ms)
{
	s = parse_seconds(skip_ows(s), ms);
	return s && *skip_ows(s) == '\0';
}

static bool
scan_lit(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Exactly n digits. */
static bool
scan_num(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
scan_month(const char **p, int *mon)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int m = 0; m < 12; m++) {
		if (strncmp(*p, names + 3 * m, 3) == 0) {
			*p += 3;
			*mon = m + 1;
			return true;
		}
	}
	return false;
}

static bool
scan_time(const char **p, int *h, int *mi, int *s)
{
	return scan_num(p, 2, h) && scan_lit(p, ":") && scan_num(p, 2, mi) &&
	       scan_lit(p, ":") && scan_num(p, 2, s);
}

static int
month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
	                           31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* HTTP-date (RFC 9110 5.6.7): IMF-fixdate, and the obsolete RFC 850 and
 * asctime forms recipients must still accept.  Epoch ms. */
static bool
parse_http_date(const char *s, int64_t *ms)
{
	const char *p = skip_ows(s);
	int d = 0, mon = 0, y = 0, h = 0, mi = 0, sec = 0;
	int letters = 0;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
		p++;
		letters++;
	}
	if (letters < 3)
		return false;
	if (scan_lit(&p, ", ")) {
		if (!scan_num(&p, 2, &d))
			return false;
		if (*p == ' ') {
			if (!(scan_lit(&p, " ") && scan_month(&p, &mon) &&
			      scan_lit(&p, " ") && scan_num(&p, 4, &y) &&
			      scan_lit(&p, " ") &&
			      scan_time(&p, &h, &mi, &sec) &&
			      scan_lit(&p, " GMT")))
				return false;
		} else {
			if (!(scan_lit(&p, "-") && scan_month(&p, &mon) &&
			      scan_lit(&p, "-") && scan_num(&p, 2, &y) &&
			      scan_lit(&p, " ") &&
			      scan_time(&p, &h, &mi, &sec) &&
			      scan_lit(&p, " GMT")))
				return false;
			/* RFC 9110: a two-digit year more than 50 years
			 * ahead means the past century; 70 is that cut for
			 * any date this daemon will meet. */
			y += y < 70 ? 2000 : 1900;
		}
	} else {
		if (!(scan_lit(&p, " ") && scan_month(&p, &mon) &&
		      scan_lit(&p, " ")))
			return false;
		if (*p == ' ') {
			p++;
			if (!scan_num(&p, 1, &d))
				return false;
		} else if (!scan_num(&p, 2, &d)) {
			return false;
		}
		if (!(scan_lit(&p, " ") && scan_time(&p, &h, &mi, &sec) &&
		      scan_lit(&p, " ") && scan_num(&p, 4, &y)))
			return false;
	}
	if (*skip_ows(p) != '\0' || d < 1 || d > month_days(y, mon) || h > 23 ||
	    mi > 59 || sec > 60)
		return false;
	if (sec == 60)
		sec = 59;
	*ms = ((tz_days_from_civil(y, mon, d) * 24 + h) * 60 + mi) * 60 + sec;
	*ms *= 1000;
	return true;
}

/* Draft RateLimit header: items split by ',' or ';', "reset=N" (draft 7)
 * or "t=N" (later drafts).  The latest reset in ms, or false. */
static bool
parse_ratelimit_field(const char *s, int64_t *ms)
{
	bool found = false;

	while (*s) {
		const char *end = s + strcspn(s, ",;");
		const char *eq = memchr(s, '=', (size_t)(end - s));
		if (eq) {
			const char *k = skip_ows(s);
			size_t klen = (size_t)(eq - k);
			int64_t v;
			const char *q;
			while (klen > 0 &&
			       (k[klen - 1] == ' ' || k[klen - 1] == '\t'))
				klen--;
			q = parse_seconds(skip_ows(eq + 1), &v);
			if (q && skip_ows(q) == end &&
			    ((klen == 5 && strncasecmp(k, "reset", 5) == 0) ||
			     (klen == 1 && (*k == 't' || *k == 'T'))) &&
			    (!found || v > *ms)) {
				*ms = v;
				found = true;
			}
		}
		s = *end ? end + 1 : end;
	}
	return found;
}

int64_t
ratelimit_retry_after_ms(const char *const *names, const char *const *values,
                         size_t n, int64_t now_ms)
{
	int64_t best = -1;

	for (size_t i = 0; i < n; i++) {
		const char *name = names[i], *val = values[i];
		int64_t v, wait;

		if (name == NULL || val == NULL)
			continue;
		if (strcasecmp(name, "Retry-After") == 0) {
			if (parse_seconds_only(val, &v))
				wait = v;
			else if (parse_http_date(val, &v))
				wait = v - now_ms;
			else
				continue;
		} else if (strcasecmp(name, "RateLimit-Reset") == 0) {
			if (!parse_seconds_only(val, &v))
				continue;
			wait = v;
		} else if (strcasecmp(name, "X-RateLimit-Reset") == 0) {
			if (!parse_seconds_only(val, &v))
				continue;
			/* Some servers send the reset instant, not the
			 * delay: no delay is 30 years long. */
			if (v >= INT64_C(1000000000000000))
				wait = v / 1000 - now_ms;
			else if (v >= INT64_C(1000000000000))
				wait = v - now_ms;
			else
				wait = v;
		} else if (strcasecmp(name, "RateLimit") == 0) {
			if (!parse_ratelimit_field(val, &v))
				continue;
			wait = v;
		} else {
			continue;
		}
		if (wait < 0)
			wait = 0;
		if (wait > WAIT_CAP_MS)
			wait = WAIT_CAP_MS;
		if (wait > best)
			best = wait;
	}
	return best;
}

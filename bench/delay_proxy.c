/*
 * delay_proxy: a TCP proxy on loopback that adds a network round trip.
 *
 *   delay_proxy [-l PORT] [-s SPIN_US] [-S STATS_FILE] [-r PRIO] RTT_MS TARGET_IP:PORT
 *
 * Listens on 127.0.0.1:PORT (default: a free port) and prints the port on
 * stdout, one line. For each connection it accepts it connects to the target
 * and forwards what either side sends, each chunk (what one read returned)
 * RTT/2 after its own arrival, in order; the server's first bytes (the SMTP
 * greeting) are held until 2 RTT after the client connected, as a real
 * connect (1 RTT) and a greeting (1 more) would take. TCP_NODELAY on both
 * sides, so a chunk leaves as it came. This kernel has no netem; see
 * bench/README.md for what this models and what not.
 *
 * Timing: a chunk's arrival is the kernel's receive timestamp of its data
 * (SO_TIMESTAMPNS), not the moment this process woke up to read it; the
 * process sleeps until shortly before a chunk is due and spins the rest, so
 * the sleep's wake-up latency does not delay it. The margin follows the
 * wake-up latency seen (a decaying maximum, plus 30 us, between 30 us and
 * 2 ms), or is SPIN_US with -s. How late each
 * chunk left (actual send time minus due time) is counted; the summary goes
 * to stderr when the proxy stops, and with -S as one JSON line to
 * STATS_FILE.
 *
 * Runs at nice -10 where it may (root), so that the client and server on the
 * same CPUs do not delay it. With -r PRIO it asks for the real-time policy
 * SCHED_FIFO at PRIO (1-99) instead, so that a wake-up preempts whatever
 * else runs on a busy machine at once (the kernel's real-time throttling
 * still leaves the others 5 % of each CPU); where that is refused it stays
 * at nice -10 and says so on stderr. Stops on SIGTERM or SIGINT, and when the
 * process that started it ends
 * (PR_SET_PDEATHSIG). Buffers at most 16 MiB per direction and connection
 * (then stops reading that side until the queue drains). Linux only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sched.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX    (256 * 1024)          /* octets taken per read: one chunk */
#define QUEUE_MAX   (16 * 1024 * 1024)    /* stop reading a side above this */
#define QUEUE_LOW   (4 * 1024 * 1024)     /* ...and read again below this */
#define HIST_US     20000                 /* lateness histogram: 1 us buckets */

typedef struct chunk {
	struct chunk *next;
	uint64_t due;        /* CLOCK_MONOTONIC ns */
	size_t len, off;
	int eof;             /* the source closed its sending side here */
	char data[];
} chunk_t;

struct conn;

typedef struct {
	struct conn *c;
	int side;            /* 0: client socket, 1: server socket */
} endpoint_t;

/* One direction: what was read from one socket, waiting to go to the other. */
typedef struct {
	chunk_t *head, *tail;
	size_t queued;
	int paused;          /* not reading its source: queue full */
	int eof_read;        /* source sent FIN */
	int eof_sent;        /* FIN passed on */
	int blocked;         /* destination full: waiting for EPOLLOUT */
} dir_t;

typedef struct conn {
	struct conn *prev, *next;
	int fd[2];           /* client, server */
	int connected;       /* server connect() done */
	uint64_t accepted;   /* when the client's connection was taken */
	dir_t d[2];          /* d[0]: client -> server, d[1]: server -> client */
	endpoint_t ep[2];
	uint64_t ack_due;    /* when to acknowledge the server's data (0: nothing owed) */
	unsigned events[2];  /* epoll interest per fd */
	int unwatched[2];    /* fd closed both ways: out of epoll (HUP would repeat) */
	int dead;
} conn_t;

static int ep_fd, listen_fd, sig_fd;
static uint64_t half_rtt, rtt;
static uint64_t spin_ns = 200000;    /* sleep until this long before a chunk is due */
static int spin_fixed;                /* -s given: no adaptation */
static uint64_t oversleep_est;        /* decaying maximum of recent wake-up latencies */
static struct sockaddr_storage target;
static socklen_t target_len;
static conn_t *conns;
static int64_t rt_minus_mono;   /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */

/* statistics */
static unsigned long long n_chunks, n_bytes, n_conns, n_no_ts, n_read_late, n_woke_late, n_acks;
static unsigned long long hist[HIST_US + 1];
static uint64_t err_max;
static int64_t err_sum;                /* ns, signed: arrival minus due */
static uint64_t send_sum;              /* time spent in send(), ns (informative) */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void die(const char *what)
{
	fprintf(stderr, "delay_proxy: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void watch(conn_t *c, int side, unsigned events)
{
	struct epoll_event ev;

	if (c->events[side] == events) {
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = &c->ep[side];
	if (epoll_ctl(ep_fd, c->events[side] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd[side], &ev) != 0) {
		die("epoll_ctl");
	}
	c->events[side] = events;
}

/* What each socket of c must be watched for now. */
static void update_watch(conn_t *c)
{
	int side;

	for (side = 0; side < 2; side++) {
		unsigned ev = 0;
		if (c->unwatched[side]) {
			continue;
		}
		dir_t *in = &c->d[side];        /* read from this side */
		dir_t *out = &c->d[1 - side];   /* written to this side */
		if (side == 1 && !c->connected) {
			ev = EPOLLOUT;              /* connect() completing */
		} else {
			if (!in->eof_read && !in->paused) {
				ev |= EPOLLIN;
			}
			if (out->blocked) {
				ev |= EPOLLOUT;
			}
		}
		watch(c, side, ev);
	}
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
}

static void conn_free(conn_t *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		chunk_t *k = c->d[i].head;
		while (k) {
			chunk_t *n = k->next;
			free(k);
			k = n;
		}
		if (c->fd[i] >= 0) {
			if (!c->unwatched[i]) {
				epoll_ctl(ep_fd, EPOLL_CTL_DEL, c->fd[i], NULL);
			}
			close(c->fd[i]);
		}
	}
	if (c->prev) {
		c->prev->next = c->next;
	} else {
		conns = c->next;
	}
	if (c->next) {
		c->next->prev = c->prev;
	}
	free(c);
}

/* A socket failed: end both connections at once, with a reset. */
static void conn_abort(conn_t *c)
{
	struct linger lg = {1, 0};
	int i;

	for (i = 0; i < 2; i++) {
		if (c->fd[i] >= 0) {
			setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
	}
	c->dead = 1;
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		conn_t *c;
		int s;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
				perror("delay_proxy: accept");
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->accepted = now_ns();
		c->fd[0] = fd;
		c->fd[1] = -1;
		c->ep[0].c = c->ep[1].c = c;
		c->ep[0].side = 0;
		c->ep[1].side = 1;
		c->next = conns;
		if (conns) {
			conns->prev = c;
		}
		conns = c;
		n_conns++;
		nodelay(fd);
		{
			/* a report for each time the client acknowledges what we sent it */
			int f = SOF_TIMESTAMPING_TX_ACK | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY;
			setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &f, sizeof(f));
		}
		s = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0) {
			conn_abort(c);
			continue;
		}
		c->fd[1] = s;
		nodelay(s);
		if (connect(s, (struct sockaddr *)&target, target_len) == 0) {
			c->connected = 1;
		} else if (errno != EINPROGRESS) {
			conn_abort(c);
			continue;
		}
		update_watch(c);
	}
}

/*
 * The client acknowledged data we forwarded to it (at the kernel's time in
 * the report): the server should see that acknowledgement RTT/2 later. A
 * proxy cannot pass ACKs on, and its own socket to the server acknowledges
 * by its own rules (delayed, when it has nothing to send). So at that time
 * the proxy makes that socket acknowledge at once (TCP_QUICKACK) whatever it
 * still owes: a server that holds a small reply until its previous one is
 * acknowledged (Nagle) then waits as long as the client's own behaviour
 * plus the round trip make it wait, not for the proxy's delayed-ACK timer.
 */
static void read_acks(conn_t *c)
{
	for (;;) {
		char ctl[512];
		struct msghdr mh;
		struct cmsghdr *cm;
		uint64_t t = 0;

		memset(&mh, 0, sizeof(mh));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		if (recvmsg(c->fd[0], &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			return;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPING) {
				struct scm_timestamping ts;
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				t = (uint64_t)((int64_t)ts.ts[0].tv_sec * 1000000000ll + ts.ts[0].tv_nsec - rt_minus_mono);
			}
		}
		if (t) {
			t += half_rtt;
			if (!c->ack_due || t < c->ack_due) {
				c->ack_due = t;
			}
			n_acks++;
		}
	}
}

/* Acknowledgements owed to servers whose time has come. */
static void run_acks(void)
{
	conn_t *c;
	uint64_t now = now_ns();

	for (c = conns; c; c = c->next) {
		if (c->ack_due && c->ack_due <= now && !c->dead && c->fd[1] >= 0 && c->connected) {
			int one = 1;
			setsockopt(c->fd[1], IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
			c->ack_due = 0;
		}
	}
}

/* The earliest acknowledgement owed (0: none). */
static uint64_t next_ack(void)
{
	conn_t *c;
	uint64_t t = 0;

	for (c = conns; c; c = c->next) {
		if (c->ack_due && !c->dead && (!t || c->ack_due < t)) {
			t = c->ack_due;
		}
	}
	return t;
}

/* Read what side has sent, stamped with its arrival. */
static void read_side(conn_t *c, int side)
{
	dir_t *d = &c->d[side];

	while (!d->eof_read && !d->paused) {
		char ctl[CMSG_SPACE(sizeof(struct timespec))];
		struct msghdr mh;
		struct iovec iov;
		struct cmsghdr *cm;
		chunk_t *k = malloc(sizeof(*k) + READ_MAX);
		uint64_t arrival = 0;
		ssize_t n;

		if (!k) {
			conn_abort(c);
			return;
		}
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = k->data;
		iov.iov_len = READ_MAX;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		n = recvmsg(c->fd[side], &mh, MSG_DONTWAIT);
		if (n < 0) {
			free(k);
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				return;
			}
			conn_abort(c);
			return;
		}
		if (side == 1 && n > 0) {
			/* no acknowledgement of our own for the server's data: delayed
			 * (the kernel's timer) unless the client's comes first (read_acks) */
			int zero = 0;
			setsockopt(c->fd[1], IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				arrival = (uint64_t)((int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec - rt_minus_mono);
			}
		}
		if (arrival == 0 || arrival > now_ns()) {
			arrival = now_ns();
			n_no_ts++;
		}
		if (n > 0) {
			chunk_t *small = realloc(k, sizeof(*k) + (size_t)n);
			if (small) {
				k = small;
			}
		}
		k->next = NULL;
		k->len = (size_t)n;
		k->off = 0;
		k->eof = n == 0;
		k->due = arrival + half_rtt;
		if (k->due < now_ns()) {
			n_read_late++;   /* this process read it later than it was due */
		}
		if (side == 1 && k->due < c->accepted + 2 * rtt) {
			k->due = c->accepted + 2 * rtt;   /* the greeting: 2 RTT after connect */
		}
		if (d->tail && k->due < d->tail->due) {
			k->due = d->tail->due;            /* never overtake */
		}
		if (d->tail) {
			d->tail->next = k;
		} else {
			d->head = k;
		}
		d->tail = k;
		d->queued += (size_t)n;
		if (n == 0) {
			d->eof_read = 1;
		} else if (d->queued > QUEUE_MAX) {
			d->paused = 1;
		}
	}
}

/* Send the head chunk of direction di now. 1 when it has left whole. The
 * error counted is when it was handed to the kernel minus its due time (on
 * loopback the send itself, which wakes the peer, is delivery, as a direct
 * connection has it too); a chunk that had to wait for room counts once,
 * from its first attempt. */
static int forward(conn_t *c, int di)
{
	dir_t *d = &c->d[di];
	chunk_t *k = d->head;
	int to = c->fd[1 - di];
	int first = k->off == 0;
	uint64_t t0 = now_ns(), t1;

	if (k->eof) {
		shutdown(to, SHUT_WR);
		d->eof_sent = 1;
	} else {
		while (k->off < k->len) {
			ssize_t w = send(to, k->data + k->off, k->len - k->off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0) {
				if (errno == EINTR) {
					continue;
				}
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					d->blocked = 1;
					return 0;
				}
				conn_abort(c);
				return 0;
			}
			k->off += (size_t)w;
		}
	}
	t1 = now_ns();
	if (first) {
		int64_t err = (int64_t)t0 - (int64_t)k->due;
		uint64_t aerr = (uint64_t)(err < 0 ? -err : err) / 1000;
		hist[aerr < HIST_US ? aerr : HIST_US]++;
		err_sum += err;
		if (aerr > err_max) {
			err_max = aerr;
		}
		send_sum += t1 - t0;
	}
	n_chunks++;
	n_bytes += k->len;
	d->queued -= k->len;
	d->head = k->next;
	if (!d->head) {
		d->tail = NULL;
	}
	free(k);
	if (d->paused && d->queued < QUEUE_LOW) {
		d->paused = 0;
	}
	return 1;
}

/* The direction whose head chunk is due first (blocked ones wait for EPOLLOUT). */
static conn_t *earliest(int *di, uint64_t *due)
{
	conn_t *c, *best = NULL;

	for (c = conns; c; c = c->next) {
		int i;
		if (c->dead) {
			continue;
		}
		for (i = 0; i < 2; i++) {
			dir_t *d = &c->d[i];
			if (!d->head || d->blocked || (i == 0 && !c->connected)) {
				continue;
			}
			if (!best || d->head->due < *due) {
				best = c;
				*di = i;
				*due = d->head->due;
			}
		}
	}
	return best;
}

/* Forward everything due within the spin margin, spinning to its due time. */
static void run_due(void)
{
	for (;;) {
		int di = 0;
		uint64_t due = 0, now;
		conn_t *c = earliest(&di, &due);

		if (!c) {
			return;
		}
		now = now_ns();
		if (due > now + spin_ns) {
			return;
		}
		while (now < due) {
			now = now_ns();
		}
		forward(c, di);
		if (!c->dead) {
			update_watch(c);
		}
	}
}

static void reap(void)
{
	conn_t *c = conns;

	while (c) {
		conn_t *n = c->next;
		if (c->dead || (c->d[0].eof_sent && c->d[1].eof_sent)) {
			conn_free(c);
		}
		c = n;
	}
}

static void print_stats(FILE *f, int json)
{
	unsigned long long seen = 0, p50 = 0, p99 = 0, p999 = 0, total = 0;
	double mean;
	size_t i;

	for (i = 0; i <= HIST_US; i++) {
		total += hist[i];
	}
	/* bucket i holds |error| in [i, i+1) us: report the bucket's upper edge */
	for (i = 0; i <= HIST_US; i++) {
		seen += hist[i];
		if (!p50 && seen * 2 >= total) {
			p50 = i + 1;
		}
		if (!p99 && seen * 100 >= total * 99) {
			p99 = i + 1;
		}
		if (!p999 && seen * 1000 >= total * 999) {
			p999 = i + 1;
		}
	}
	if (!total) {
		p50 = p99 = p999 = 0;
	}
	mean = total ? (double)err_sum / (double)total / 1000.0 : 0.0;
	if (json) {
		fprintf(f, "{\"rtt_us\":%llu,\"connections\":%llu,\"chunks\":%llu,\"bytes\":%llu,"
			"\"error_us_mean\":%.2f,\"abs_error_us_p50\":%llu,\"abs_error_us_p99\":%llu,"
			"\"abs_error_us_p999\":%llu,\"abs_error_us_max\":%llu,\"send_us\":%.1f,\"margin_us\":%llu,"
			"\"no_timestamp\":%llu,\"read_after_due\":%llu,\"woke_after_due\":%llu,\"client_acks\":%llu}\n",
			(unsigned long long)(rtt / 1000), n_conns, n_chunks, n_bytes, mean, p50, p99, p999,
			(unsigned long long)err_max, total ? (double)send_sum / (double)total / 1000.0 : 0.0, (unsigned long long)(spin_ns / 1000),
			n_no_ts, n_read_late, n_woke_late, n_acks);
	} else {
		fprintf(f, "delay_proxy: rtt %.3f ms, %llu connections, %llu chunks, %llu octets; "
			"sent minus due time (us): mean %+.2f, |error| p50 <%llu, p99 <%llu, p99.9 <%llu, max %llu; "
			"send %.1f us, margin %llu us; %llu reads without a kernel timestamp, %llu read after due, "
			"%llu wake-ups after due; %llu client ACKs passed on\n",
			(double)rtt / 1e6, n_conns, n_chunks, n_bytes, mean, p50, p99, p999,
			(unsigned long long)err_max, total ? (double)send_sum / (double)total / 1000.0 : 0.0, (unsigned long long)(spin_ns / 1000),
			n_no_ts, n_read_late, n_woke_late, n_acks);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: delay_proxy [-l PORT] [-s SPIN_US] [-S STATS_FILE] [-r PRIO] RTT_MS TARGET_IP:PORT\n");
	exit(2);
}

static void parse_target(const char *arg)
{
	char host[128];
	const char *colon = strrchr(arg, ':');
	long port;
	char *end;

	if (!colon || (size_t)(colon - arg) >= sizeof(host)) {
		usage();
	}
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535) {
		usage();
	}
	memset(&target, 0, sizeof(target));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&target;
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) {
			usage();
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		target_len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&target;
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
			usage();
		}
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		target_len = sizeof(*a);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in la;
	socklen_t la_len = sizeof(la);
	struct epoll_event ev;
	sigset_t sigs;
	const char *stats_file = NULL;
	double rtt_ms;
	long listen_port = 0;
	pid_t parent = getppid();
	int opt, one = 1, running = 1, rt_prio = 0;

	while ((opt = getopt(argc, argv, "l:s:S:r:")) != -1) {
		switch (opt) {
		case 'l': listen_port = strtol(optarg, NULL, 10); break;
		case 's': spin_ns = (uint64_t)strtoull(optarg, NULL, 10) * 1000; spin_fixed = 1; break;
		case 'S': stats_file = optarg; break;
		case 'r': rt_prio = (int)strtol(optarg, NULL, 10); if (rt_prio < 1 || rt_prio > 99) usage(); break;
		default: usage();
		}
	}
	if (argc - optind != 2) {
		usage();
	}
	rtt_ms = strtod(argv[optind], NULL);
	if (!(rtt_ms >= 0) || rtt_ms > 60000) {
		usage();
	}
	rtt = (uint64_t)(rtt_ms * 1e6 + 0.5);
	half_rtt = rtt / 2;
	parse_target(argv[optind + 1]);

	/* signals through a descriptor; end with the parent too */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) != 0 || (sig_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		die("signalfd");
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) {
		return 0;
	}
	/* sleep precisely: no timer slack; and, where allowed (root), win the CPU
	 * over the client and server it sits between, as a wire would not
	 * compete with them at all */
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (setpriority(PRIO_PROCESS, 0, -10) != 0) {
		errno = 0;
	}
	if (rt_prio) {
		struct sched_param sp;
		memset(&sp, 0, sizeof(sp));
		sp.sched_priority = rt_prio;
		if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
			fprintf(stderr, "delay_proxy: SCHED_FIFO %d refused (%s); nice -10 only\n", rt_prio, strerror(errno));
			errno = 0;
		}
	}
	rt_minus_mono = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_MONOTONIC);

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0) {
		die("socket");
	}
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&la, 0, sizeof(la));
	la.sin_family = AF_INET;
	la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	la.sin_port = htons((uint16_t)listen_port);
	if (bind(listen_fd, (struct sockaddr *)&la, sizeof(la)) != 0 || listen(listen_fd, 512) != 0) {
		die("bind/listen on 127.0.0.1");
	}
	if (getsockname(listen_fd, (struct sockaddr *)&la, &la_len) != 0) {
		die("getsockname");
	}
	if ((ep_fd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		die("epoll_create1");
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_fd;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.data.ptr = &sig_fd;
	epoll_ctl(ep_fd, EPOLL_CTL_ADD, sig_fd, &ev);
	printf("%u\n", (unsigned)ntohs(la.sin_port));
	fflush(stdout);

	while (running) {
		struct epoll_event evs[64];
		struct timespec tmo, *tp = NULL;
		int di = 0, n, i;
		uint64_t due = 0, wake = 0;

		if (earliest(&di, &due)) {
			uint64_t now = now_ns(), wait;
			wake = due > spin_ns ? due - spin_ns : 0;
			wait = wake > now ? wake - now : 0;
			tmo.tv_sec = (time_t)(wait / 1000000000ull);
			tmo.tv_nsec = (long)(wait % 1000000000ull);
			tp = &tmo;
			if (wait == 0) {
				wake = 0;
			}
		}
		{
			uint64_t ack = next_ack(), now = now_ns();
			if (ack && (!tp || ack < wake)) {
				/* an acknowledgement is owed first: no need to spin for it */
				uint64_t wait = ack > now ? ack - now : 0;
				tmo.tv_sec = (time_t)(wait / 1000000000ull);
				tmo.tv_nsec = (long)(wait % 1000000000ull);
				tp = &tmo;
				wake = 0;
			}
		}
		n = epoll_pwait2(ep_fd, evs, 64, tp, NULL);
		if (n == 0 && wake && !spin_fixed) {
			/* woken by the timer: how late, and the margin that covers it */
			uint64_t now = now_ns(), over = now > wake ? now - wake : 0;
			oversleep_est -= oversleep_est / 32;
			if (wake + spin_ns < now) {
				n_woke_late++;   /* slept past the chunk's due time */
			}
			if (over > oversleep_est) {
				oversleep_est = over;
			}
			spin_ns = oversleep_est + 30000;
			if (spin_ns > 2000000) {
				spin_ns = 2000000;
			}
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("epoll_pwait2");
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &listen_fd) {
				accept_all();
			} else if (p == &sig_fd) {
				running = 0;
			} else {
				endpoint_t *e = p;
				conn_t *c = e->c;
				if (c->dead) {
					continue;
				}
				if (e->side == 1 && !c->connected) {
					int err = 0;
					socklen_t el = sizeof(err);
					getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &el);
					if (err) {
						conn_abort(c);
						continue;
					}
					c->connected = 1;
				}
				if ((evs[i].events & EPOLLERR) && e->side == 0) {
					int err = 0;
					socklen_t el = sizeof(err);
					read_acks(c);
					/* a real error as well, or only acknowledgement reports? */
					getsockopt(c->fd[0], SOL_SOCKET, SO_ERROR, &err, &el);
					if (err) {
						conn_abort(c);
						continue;
					}
					evs[i].events &= ~(uint32_t)EPOLLERR;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
					read_side(c, e->side);
				}
				if (evs[i].events & EPOLLOUT) {
					c->d[1 - e->side].blocked = 0;
				}
				if ((evs[i].events & EPOLLHUP) && !c->dead && c->d[e->side].eof_read
						&& c->d[1 - e->side].eof_sent && !c->unwatched[e->side]) {
					/* closed both ways: nothing more comes or goes here */
					epoll_ctl(ep_fd, EPOLL_CTL_DEL, c->fd[e->side], NULL);
					c->unwatched[e->side] = 1;
				}
				if (!c->dead) {
					update_watch(c);
				}
			}
		}
		run_due();
		run_acks();
		reap();
		if (getppid() != parent) {
			running = 0;
		}
	}
	while (conns) {
		conn_free(conns);
	}
	print_stats(stderr, 0);
	if (stats_file) {
		FILE *f = fopen(stats_file, "w");
		if (f) {
			print_stats(f, 1);
			fclose(f);
		}
	}
	return 0;
}

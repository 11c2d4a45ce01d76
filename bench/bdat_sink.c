/*
 * bdat_sink.c - a small, fast, single-process SMTP sink with PIPELINING and
 * CHUNKING (BDAT, RFC 3030), for round-trip benchmarks.
 *
 * BENCHMARK SERVER ONLY: no authentication, no TLS, no relay checks, no
 * storage.  Every message is read and discarded; every envelope is accepted.
 * Do not expose it to anything but a test network.
 *
 * Usage: bdat_sink [-c] [-p] [-C] [-h HOSTNAME] ADDR:PORT
 *
 *   ADDR:PORT    address to listen on, e.g. 127.0.0.1:0 or [::1]:2525.
 *                Port 0 lets the kernel choose; the bound port is printed as
 *                "port=N" on stderr at start-up.
 *   -c           after every completed message and every ended session, write
 *                "sess=%d quit=%d mesg=%d\r" to stdout (like smtp-sink -c):
 *                sess = sessions ended, quit = sessions ended by QUIT,
 *                mesg = messages accepted (counted when the final 250 is
 *                queued for sending, i.e. before the client can see it).
 *   -p           do not announce PIPELINING.
 *   -C           do not announce CHUNKING (BDAT is then answered 502 after
 *                its octets have been read and discarded).
 *   -h HOSTNAME  name used in the greeting and EHLO reply
 *                (default bdat-sink.localhost).
 *
 * EHLO announces PIPELINING, CHUNKING, 8BITMIME, SIZE 52428800,
 * ENHANCEDSTATUSCODES, SMTPUTF8.  Commands: EHLO, HELO, MAIL, RCPT, DATA,
 * BDAT n [LAST], RSET, NOOP, QUIT; anything else gets 502.  Replies to a
 * batch of pipelined commands are collected and sent with one write() once
 * the input has been drained.  Single thread, epoll, non-blocking sockets,
 * constant memory per connection.  SIGTERM/SIGINT exit with status 0.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE \
 *            -o bdat_sink bench/bdat_sink.c
 */

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE      4096          /* command line length, without CRLF */
#define IN_INIT       16384         /* initial input buffer */
#define IN_MAX        (256 * 1024)  /* input buffer grows up to this */
#define OUT_INIT      4096
#define OUT_HIGH      65536         /* flush replies early above this */
#define READS_PER_EV  32            /* fairness between connections */

enum state { ST_CMD, ST_DATA, ST_BDAT };

struct conn {
    int fd;
    uint32_t evmask;            /* current epoll interest */
    enum state st;
    /* input */
    char *in;
    size_t incap, inlen, inpos;
    int toolong;                /* discarding an over-long line */
    /* output */
    char *out;
    size_t outcap, outlen, outpos;
    /* session / transaction */
    int has_mail, nrcpt, in_bdat;
    int dstate;                 /* DATA end-of-data scanner state */
    unsigned long long bdat_left, bdat_size;
    int bdat_last, bdat_err;    /* bdat_err: 0 ok, 503, 502 */
    int closing;                /* QUIT seen: close after output drains */
    int blocked;                /* output could not be written: wait */
    int counted;                /* session already counted */
};

static int opt_counters, opt_pipelining = 1, opt_chunking = 1;
static const char *opt_host = "bdat-sink.localhost";
static int n_sess, n_quit, n_mesg;
static unsigned long long msg_id;
static char *greeting, *ehlo_reply, *helo_reply;
static size_t greeting_len, ehlo_len, helo_len;
static int epfd;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

static void print_counters(void)
{
    if (!opt_counters)
        return;
    printf("sess=%d quit=%d mesg=%d\r", n_sess, n_quit, n_mesg);
    fflush(stdout);
}

/* ---------------------------------------------------------------- output */

static void out_add(struct conn *c, const char *s, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap;
        while (cap < c->outlen + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            die("realloc");
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
}

#define OUT_LIT(c, s) out_add((c), s, sizeof(s) - 1)

/* Write pending output. Returns -1 on a fatal error, 0 otherwise; anything
 * left unwritten stays in c->out and c->blocked is set. */
static int out_flush(struct conn *c)
{
    while (c->outpos < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outpos, c->outlen - c->outpos,
                         MSG_NOSIGNAL);
        if (w > 0) {
            c->outpos += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->blocked = 1;
            return 0;
        } else {
            return -1;
        }
    }
    c->outpos = c->outlen = 0;
    c->blocked = 0;
    return 0;
}

/* ---------------------------------------------------------------- session */

static void reset_txn(struct conn *c)
{
    c->has_mail = 0;
    c->nrcpt = 0;
    c->in_bdat = 0;
}

static void message_done(struct conn *c)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "250 2.0.0 Ok: queued as %08X%08llX\r\n",
                     (unsigned)getpid(), ++msg_id);
    n_mesg++;
    print_counters();
    out_add(c, buf, (size_t)n);
    reset_txn(c);
}

static void end_session(struct conn *c, int by_quit)
{
    if (c->counted)
        return;
    c->counted = 1;
    n_sess++;
    if (by_quit)
        n_quit++;
    print_counters();
}

static void conn_close(struct conn *c)
{
    end_session(c, 0);
    close(c->fd);               /* also removes it from the epoll set */
    free(c->in);
    free(c->out);
    free(c);
}

static int word_is(const char *p, size_t n, const char *w)
{
    size_t wl = strlen(w);
    return n == wl && strncasecmp(p, w, wl) == 0;
}

static int prefix_is(const char *p, size_t n, const char *w)
{
    size_t wl = strlen(w);
    return n >= wl && strncasecmp(p, w, wl) == 0;
}

static void bdat_finish(struct conn *c)
{
    c->st = ST_CMD;
    if (c->bdat_err == 502) {
        OUT_LIT(c, "502 5.5.1 Error: command not implemented\r\n");
    } else if (c->bdat_err == 503) {
        OUT_LIT(c, "503 5.5.1 Error: need MAIL and RCPT command\r\n");
    } else if (c->bdat_last) {
        message_done(c);
    } else {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "250 2.0.0 Ok: %llu octets\r\n",
                         c->bdat_size);
        out_add(c, buf, (size_t)n);
    }
}

static void do_bdat(struct conn *c, const char *p, size_t n)
{
    size_t i = 4;
    unsigned long long size = 0;
    int digits = 0, last = 0;

    while (i < n && p[i] == ' ')
        i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (size > (~0ULL - 9) / 10)
            goto syntax;
        size = size * 10 + (unsigned)(p[i] - '0');
        digits++;
        i++;
    }
    if (!digits || (i < n && p[i] != ' '))
        goto syntax;
    while (i < n && p[i] == ' ')
        i++;
    if (i < n) {
        if (n - i < 4 || strncasecmp(p + i, "LAST", 4) != 0)
            goto syntax;
        last = 1;
        i += 4;
        while (i < n && p[i] == ' ')
            i++;
        if (i < n)
            goto syntax;
    }
    c->bdat_size = c->bdat_left = size;
    c->bdat_last = last;
    if (!opt_chunking)
        c->bdat_err = 502;
    else if (!c->has_mail || c->nrcpt == 0)
        c->bdat_err = 503;
    else {
        c->bdat_err = 0;
        c->in_bdat = 1;
    }
    if (size == 0)
        bdat_finish(c);
    else
        c->st = ST_BDAT;
    return;
syntax:
    OUT_LIT(c, "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
}

static void do_command(struct conn *c, const char *p, size_t n)
{
    size_t vl = 0;
    while (vl < n && p[vl] != ' ')
        vl++;

    if (word_is(p, vl, "EHLO")) {
        reset_txn(c);
        out_add(c, ehlo_reply, ehlo_len);
    } else if (word_is(p, vl, "HELO")) {
        reset_txn(c);
        out_add(c, helo_reply, helo_len);
    } else if (word_is(p, vl, "MAIL")) {
        if (!prefix_is(p, n, "MAIL FROM:"))
            OUT_LIT(c, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
        else if (c->has_mail)
            OUT_LIT(c, "503 5.5.1 Error: nested MAIL command\r\n");
        else {
            c->has_mail = 1;
            OUT_LIT(c, "250 2.1.0 Ok\r\n");
        }
    } else if (word_is(p, vl, "RCPT")) {
        if (!prefix_is(p, n, "RCPT TO:"))
            OUT_LIT(c, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
        else if (!c->has_mail)
            OUT_LIT(c, "503 5.5.1 Error: need MAIL command\r\n");
        else {
            c->nrcpt++;
            OUT_LIT(c, "250 2.1.5 Ok\r\n");
        }
    } else if (word_is(p, vl, "DATA")) {
        if (!c->has_mail)
            OUT_LIT(c, "503 5.5.1 Error: need MAIL command\r\n");
        else if (c->nrcpt == 0)
            OUT_LIT(c, "554 5.5.1 Error: no valid recipients\r\n");
        else if (c->in_bdat)
            OUT_LIT(c, "503 5.5.1 Error: DATA after BDAT\r\n");
        else {
            OUT_LIT(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
            c->st = ST_DATA;
            c->dstate = 2;      /* at start of a line */
        }
    } else if (word_is(p, vl, "BDAT")) {
        do_bdat(c, p, n);
    } else if (word_is(p, vl, "RSET")) {
        reset_txn(c);
        OUT_LIT(c, "250 2.0.0 Ok\r\n");
    } else if (word_is(p, vl, "NOOP")) {
        OUT_LIT(c, "250 2.0.0 Ok\r\n");
    } else if (word_is(p, vl, "QUIT")) {
        end_session(c, 1);
        OUT_LIT(c, "221 2.0.0 Bye\r\n");
        c->closing = 1;
    } else {
        OUT_LIT(c, "502 5.5.2 Error: command not recognized\r\n");
    }
}

/* Scan DATA content for CRLF.CRLF.  States: 0 in a line, 1 after CR,
 * 2 at line start, 3 after line-start '.', 4 after line-start ".\r". */
static size_t scan_data(struct conn *c, const char *s, size_t n, int *done)
{
    const char *p = s, *e = s + n;
    int ds = c->dstate;

    *done = 0;
    while (p < e) {
        if (ds == 0) {
            const char *cr = memchr(p, '\r', (size_t)(e - p));
            if (!cr) {
                p = e;
                break;
            }
            p = cr + 1;
            ds = 1;
            continue;
        }
        char ch = *p++;
        switch (ds) {
        case 1: ds = ch == '\n' ? 2 : ch == '\r' ? 1 : 0; break;
        case 2: ds = ch == '.' ? 3 : ch == '\r' ? 1 : 0; break;
        case 3: ds = ch == '\r' ? 4 : 0; break;
        case 4:
            if (ch == '\n') {
                c->dstate = 0;
                *done = 1;
                return (size_t)(p - s);
            }
            ds = ch == '\r' ? 1 : 0;
            break;
        }
    }
    c->dstate = ds;
    return (size_t)(p - s);
}

/* Process buffered input.  Returns -1 if the connection must be dropped. */
static int process(struct conn *c)
{
    while (c->inpos < c->inlen && !c->closing) {
        if (c->outlen >= OUT_HIGH) {
            if (out_flush(c) < 0)
                return -1;
            if (c->blocked)
                return 0;
        }
        char *p = c->in + c->inpos;
        size_t avail = c->inlen - c->inpos;

        if (c->st == ST_BDAT) {
            size_t take = avail < c->bdat_left ? avail : (size_t)c->bdat_left;
            c->inpos += take;
            c->bdat_left -= take;
            if (c->bdat_left == 0)
                bdat_finish(c);
        } else if (c->st == ST_DATA) {
            int done;
            c->inpos += scan_data(c, p, avail, &done);
            if (done) {
                c->st = ST_CMD;
                message_done(c);
            }
        } else {
            char *lf = memchr(p, '\n', avail);
            if (!lf) {
                if (c->toolong || avail > MAX_LINE + 1) {
                    c->toolong = 1;         /* discard what we have */
                    c->inpos = c->inlen;
                }
                break;                      /* need more input */
            }
            size_t len = (size_t)(lf - p);
            c->inpos += len + 1;
            if (c->toolong) {
                c->toolong = 0;
                OUT_LIT(c, "500 5.5.2 Error: line too long\r\n");
                continue;
            }
            if (len && p[len - 1] == '\r')
                len--;
            if (len > MAX_LINE) {
                OUT_LIT(c, "500 5.5.2 Error: line too long\r\n");
                continue;
            }
            do_command(c, p, len);
        }
    }
    if (c->inpos == c->inlen)
        c->inpos = c->inlen = 0;
    return 0;
}

static void set_interest(struct conn *c)
{
    uint32_t want = (c->blocked || c->closing) ? EPOLLOUT : EPOLLIN;
    if (want == c->evmask)
        return;
    struct epoll_event ev = { .events = want, .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->evmask = want;
}

static void conn_event(struct conn *c, uint32_t events)
{
    int eof = 0;

    if (c->blocked) {
        if (out_flush(c) < 0)
            goto drop;
        if (c->blocked) {
            if (events & (EPOLLERR | EPOLLHUP))
                goto drop;
            return;
        }
        if (process(c) < 0)         /* input left over while blocked */
            goto drop;
    }

    for (int i = 0; i < READS_PER_EV && !c->closing && !c->blocked; i++) {
        if (c->inpos > 0 && c->incap - c->inlen < 4096) {
            memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
            c->inlen -= c->inpos;
            c->inpos = 0;
        }
        size_t room = c->incap - c->inlen;
        ssize_t r = read(c->fd, c->in + c->inlen, room);
        if (r > 0) {
            c->inlen += (size_t)r;
            if (process(c) < 0)
                goto drop;
            if ((size_t)r < room)
                break;              /* socket most likely drained */
            if (c->incap < IN_MAX) {
                char *np = realloc(c->in, c->incap * 2);
                if (!np)
                    die("realloc");
                c->in = np;
                c->incap *= 2;
            }
        } else if (r == 0) {
            eof = 1;
            break;
        } else if (errno == EINTR) {
            i--;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            eof = 1;
            break;
        }
    }

    if (out_flush(c) < 0)
        goto drop;
    if (eof)
        goto drop;
    if (c->closing && !c->blocked)
        goto drop;
    set_interest(c);
    return;
drop:
    conn_close(c);
}

static void do_accept(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                perror("accept4");
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

        struct conn *c = calloc(1, sizeof *c);
        if (!c)
            die("calloc");
        c->fd = fd;
        c->st = ST_CMD;
        c->incap = IN_INIT;
        c->outcap = OUT_INIT;
        c->in = malloc(c->incap);
        c->out = malloc(c->outcap);
        if (!c->in || !c->out)
            die("malloc");
        c->evmask = EPOLLIN;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
        out_add(c, greeting, greeting_len);
        if (out_flush(c) < 0) {
            conn_close(c);
            continue;
        }
        set_interest(c);
    }
}

/* Concatenate a + b + c into a new string; its length goes to *len. */
static char *concat3(size_t *len, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s)
        die("malloc");
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    *len = la + lb + lc;
    return s;
}

static int listen_on(const char *spec)
{
    char host[256];
    const char *port, *colon;

    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':')
            return -1;
        if ((size_t)(rb - spec - 1) >= sizeof host)
            return -1;
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = 0;
        port = rb + 2;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return -1;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = 0;
        port = colon + 1;
    }

    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "bdat_sink: %s: %s\n", spec, gai_strerror(rc));
        exit(1);
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
        die("bind");
    if (listen(fd, SOMAXCONN) < 0)
        die("listen");
    freeaddrinfo(res);

    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        die("getsockname");
    unsigned bound = ss.ss_family == AF_INET6
        ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    fprintf(stderr, "port=%u\n", bound);
    fflush(stderr);
    return fd;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bdat_sink [-c] [-p] [-C] [-h HOSTNAME] ADDR:PORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int ch;
    while ((ch = getopt(argc, argv, "cpCh:")) != -1) {
        switch (ch) {
        case 'c': opt_counters = 1; break;
        case 'p': opt_pipelining = 0; break;
        case 'C': opt_chunking = 0; break;
        case 'h': opt_host = optarg; break;
        default: usage();
        }
    }
    if (optind != argc - 1)
        usage();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char ext[256];
    snprintf(ext, sizeof ext, "\r\n%s%s%s",
             opt_pipelining ? "250-PIPELINING\r\n" : "",
             opt_chunking ? "250-CHUNKING\r\n" : "",
             "250-8BITMIME\r\n250-SIZE 52428800\r\n"
             "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n");
    greeting = concat3(&greeting_len, "220 ", opt_host, " ESMTP bdat_sink\r\n");
    ehlo_reply = concat3(&ehlo_len, "250-", opt_host, ext);
    helo_reply = concat3(&helo_len, "250 ", opt_host, "\r\n");
    msg_id = (unsigned long long)time(NULL) << 20;

    int lfd = listen_on(argv[optind]);
    if (lfd < 0) {
        fprintf(stderr, "bdat_sink: bad address %s (want ADDR:PORT)\n",
                argv[optind]);
        return 2;
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1");
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
        die("epoll_ctl");

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                do_accept(lfd);
            else
                conn_event(evs[i].data.ptr, evs[i].events);
        }
    }
}

/* test_node_parts.c - config file parsing, the discovery beacon, log limits, the
 * bandwidth bucket, the anti-entropy round's choice of peers, and the status text a
 * node writes for `hearth status`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/bucket.h"
#include "node/config.h"
#include "node/discovery.h"
#include "node/log.h"
#include "node/rotation.h"
#include "node/status.h"
#include "tests/unit/testutil.h"

static void test_config_defaults_and_overrides(void **state)
{
    (void)state;
    struct config c;
    char why[300];
    config_defaults(&c);
    assert_string_equal(c.listen, "tcp://0.0.0.0:7437");
    assert_true(c.discovery);
    const char *text =
        "[node]\nlisten = tcp://127.0.0.1:9000\naccess = allowlist\n"
        "log_level = debug\n[discovery]\nenabled = off\n[sync]\ninterval = 7\n"
        "[limits]\nrate = 8000\n[peers]\n"
        "peer = "
        "hearth://0000000000000000000000000000000000000000000000000000000000000001@10.0.0.1:7437\n"
        "peer = "
        "hearth://0000000000000000000000000000000000000000000000000000000000000002@10.0.0.2:7437\n";
    assert_int_equal(config_parse(&c, text, why, sizeof why), HERR_OK);
    assert_string_equal(c.listen, "tcp://127.0.0.1:9000");
    assert_int_equal(c.access, ACCESS_ALLOWLIST);
    assert_int_equal(c.log_level, HLOG_DEBUG);
    assert_false(c.discovery);
    assert_int_equal(c.sync_interval, 7);
    assert_int_equal(c.rate, 8000);
    assert_int_equal(c.n_peers, 2);
}

static void expect_bad(const char *text, const char *needle)
{
    struct config c, before;
    char why[300];
    config_defaults(&c);
    before = c;
    assert_int_equal(config_parse(&c, text, why, sizeof why), HERR_USAGE);
    if (!strstr(why, needle))
        fail_msg("'%s' does not mention '%s'", why, needle);
    assert_memory_equal(&c, &before, sizeof c); /* unchanged on error */
}

static void test_config_rejections(void **state)
{
    (void)state;
    expect_bad("[node]\nlisen = x\n", "hearth.conf:2: [node] lisen: unknown setting");
    expect_bad("[node]\naccess = everyone\n", "open or allowlist");
    expect_bad("[sync]\ninterval = -1\n", "interval");
    expect_bad("[sync]\ninterval = 99999999999999999999\n", "interval");
    expect_bad("[peers]\npeer = tcp://1.2.3.4:5\n", "hearth://");
    expect_bad("[node]\nthis line has no equals sign\n", "hearth.conf:2");
    expect_bad("[discovery]\nenabled = maybe\n", "true or false");
    /* An address too long for a peer record (160 bytes) is refused at once (inih's
     * line limit, 200, refuses it before our own check on the record's size). */
    char line[400], host[200];
    memset(host, 'h', 170);
    host[170] = 0;
    snprintf(line, sizeof line, "[peers]\npeer = hearth://%064d@%s:7437\n", 0, host);
    expect_bad(line, "[peers] peer:");
}

static void test_beacon_roundtrip_and_rejections(void **state)
{
    (void)state;
    struct beacon b = {.port = 7437}, back;
    testutil_seed(b.forum, 1);
    testutil_seed(b.key, 2);
    uint8_t buf[BEACON_MAX];
    size_t n;
    beacon_encode(&b, buf, &n);
    assert_int_equal(n, 73);
    assert_int_equal(beacon_decode(&back, buf, n, NULL), HERR_OK);
    assert_memory_equal(&back, &b, sizeof b);
    const char *why;
    for (size_t cut = 0; cut < n; cut++)
        assert_int_not_equal(beacon_decode(&back, buf, cut, &why), HERR_OK);
    uint8_t longer[BEACON_MAX + 1];
    memcpy(longer, buf, n);
    longer[n] = 0;
    assert_int_equal(beacon_decode(&back, longer, n + 1, &why), HERR_MALFORMED);
    buf[1] = 2; /* version */
    assert_int_equal(beacon_decode(&back, buf, n, &why), HERR_VERSION);
}

static void send_to(unsigned port, const struct beacon *b)
{
    uint8_t buf[BEACON_MAX];
    size_t n;
    beacon_encode(b, buf, &n);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(fd, buf, n, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)n);
    close(fd);
}

static bool read_one(struct discovery *d, uint64_t now, struct discovery_peer *p)
{
    bool got = false;
    for (int i = 0; i < 50 && !got; i++) {
        assert_int_equal(discovery_read(d, now, p, &got), HERR_OK);
        if (!got)
            usleep(2000);
    }
    return got;
}

static void test_discovery_filters(void **state)
{
    (void)state;
    struct beacon self = {.port = 7437};
    testutil_seed(self.forum, 1);
    testutil_seed(self.key, 2);
    struct discovery *d;
    unsigned port = 47000 + (unsigned)(getpid() % 1000);
    assert_int_equal(discovery_new(&d, &self, port, 10000, NULL, NULL), HERR_OK);
    struct discovery_peer p;

    struct beacon other = self;
    testutil_seed(other.key, 3);
    other.port = 9999;
    send_to(port, &other);
    assert_true(read_one(d, 1000, &p));
    assert_memory_equal(p.key, other.key, 32);
    assert_int_equal(p.port, 9999);
    assert_string_equal(p.host, "127.0.0.1");

    send_to(port, &other); /* again within the quiet time: not reported */
    assert_false(read_one(d, 2000, &p));
    send_to(port, &other); /* after it: reported */
    assert_true(read_one(d, 20000, &p));

    send_to(port, &self); /* ourselves */
    assert_false(read_one(d, 40000, &p));
    struct beacon foreign = other;
    testutil_seed(foreign.forum, 9);
    testutil_seed(foreign.key, 4);
    send_to(port, &foreign); /* another forum */
    assert_false(read_one(d, 60000, &p));
    discovery_destroy(&d);
    assert_null(d);
}

/* A peer that repeats itself gets `burst` lines a window and a count of the rest; each
 * kind has its own burst, under a cap on all kinds together. */
static void test_log_limits(void **state)
{
    (void)state;
    struct hlog_limit l = {.every_ms = 1000, .burst = 3};
    uint64_t more = 99;
    for (int i = 0; i < 3; i++) {
        assert_true(hlog_due(&l, 5000, &more));
        assert_int_equal(more, 0);
    }
    for (int i = 0; i < 7; i++)
        assert_false(hlog_due(&l, 5500, &more));
    assert_true(hlog_due(&l, 6000, &more)); /* a new window: the 7 are counted */
    assert_int_equal(more, 7);

    struct hlog_kinds k = {.every_ms = 1000, .burst = 2, .all = {.every_ms = 1000, .burst = 5}};
    uint64_t a = hlog_kind("bad signature", 13, 0), b = hlog_kind("wrong forum", 11, 0);
    assert_int_not_equal(a, b);
    assert_true(hlog_due_kind(&k, a, 10, &more));
    assert_true(hlog_due_kind(&k, a, 10, &more));
    assert_false(hlog_due_kind(&k, a, 10, &more)); /* a's burst is spent */
    assert_true(hlog_due_kind(&k, b, 10, &more));  /* b is another kind */
    assert_true(hlog_due_kind(&k, b, 10, &more));
    uint64_t c = hlog_kind("other", 5, 0);
    assert_true(hlog_due_kind(&k, c, 10, &more));  /* the fifth line of the window */
    assert_false(hlog_due_kind(&k, c, 10, &more)); /* all kinds together: capped */
    assert_true(hlog_due_kind(&k, c, 1010, &more));
    assert_int_equal(more, 1);
    assert_true(hlog_due_kind(&k, a, 1010, &more));
    assert_int_equal(more, 1);
}

/* The cap holds on average: what leaves in a long run is about rate × time plus one
 * burst, whatever the frame size; frames wait while the balance is spent. */
static void test_bucket_holds_the_rate(void **state)
{
    (void)state;
    const size_t frames[] = {100, 1500, 131072};
    for (size_t f = 0; f < sizeof frames / sizeof frames[0]; f++) {
        struct bucket b;
        bucket_init(&b, 30000, 1000);
        uint64_t sent = 0;
        for (uint64_t now = 1000; now < 1000 + 60000; now += 20)
            while (bucket_ready(&b, now)) {
                bucket_take(&b, frames[f]);
                sent += frames[f];
            }
        /* 60 s at 30 kB/s, plus the first second's burst, plus at most one frame. */
        assert_true(sent >= 60 * 30000);
        assert_true(sent <= 61 * 30000 + frames[f]);
    }
    struct bucket off;
    bucket_init(&off, 0, 0);
    bucket_take(&off, 1u << 30);
    assert_true(bucket_ready(&off, 0)); /* no cap */
}

/* At a few bytes a second, polled every 20 ms (as the node does while a frame waits),
 * fractions of a token must add up: the bucket used to drop them and never refill. */
static void test_bucket_slow_rates_refill(void **state)
{
    (void)state;
    struct bucket b;
    bucket_init(&b, 10, 0);
    bucket_take(&b, 100); /* 90 in debt */
    uint64_t now = 0;
    while (!bucket_ready(&b, now) && now < 60000)
        now += 20;
    /* 91 tokens at 10 a second: 9.1 s. */
    assert_true(now >= 9000 && now <= 9200);
}

/* A long idle time fills the bucket to one burst, and no more; a debt is paid at the
 * rate; a clock read out of order adds nothing. */
static void test_bucket_idle_and_debt(void **state)
{
    (void)state;
    struct bucket b;
    bucket_init(&b, 1000, 0);
    bucket_take(&b, 4000); /* -3000 */
    assert_false(bucket_ready(&b, 2000));
    assert_int_equal(b.tokens, -1000);
    assert_false(bucket_ready(&b, 1000)); /* earlier than the last read */
    assert_int_equal(b.tokens, -1000);
    assert_true(bucket_ready(&b, 3500));
    assert_int_equal(b.tokens, 500);
    assert_true(bucket_ready(&b, 3500 + 10ULL * 3600 * 1000)); /* ten hours later */
    assert_int_equal(b.tokens, 1000);
    struct bucket big;
    bucket_init(&big, 1ULL << 40, 0);
    bucket_take(&big, (size_t)3 << 40);
    assert_true(bucket_ready(&big, UINT64_MAX / 2)); /* no overflow at the largest rate */
    assert_int_equal(big.tokens, (int64_t)1 << 40);
}

/* The status a node writes reads back as it was; what is not such a status is refused,
 * whatever byte it is cut at. */
static void test_status_roundtrip(void **state)
{
    (void)state;
    static struct node_stats a, b;
    memset(&a, 0, sizeof a);
    a.pid = 4242;
    snprintf(a.version, sizeof a.version, "0.1.0");
    snprintf(a.listen, sizeof a.listen, "tcp://10.0.0.1:7437");
    snprintf(a.access, sizeof a.access, "allowlist");
    a.discovery = true;
    a.interval = 30;
    a.fanout = 3;
    a.taken = 1800000000123ULL;
    a.started = 1800000000000ULL;
    a.events = 1000001;
    a.bytes_sent = 1ULL << 40;
    a.bytes_recv = 77;
    a.sessions_ok = 5;
    a.sessions_failed = 2;
    a.sessions_in = 1;
    a.sessions_out = 4;
    a.busy_refused = 9;
    a.pushes_sent = 11;
    a.pushes_recv = 12;
    a.pushes_new = 13;
    a.contacts_dropped = 14;
    a.ingest.accepted = 15;
    a.ingest.duplicate = 16;
    a.ingest.rejected[HERR_BAD_SIG] = 17;
    a.ingest.rejected[HERR_MALFORMED] = 18;
    a.replica = NODE_REPLICA_DAMAGED;
    a.replica_checked = 1800000000001ULL;
    a.npeers = 2;
    snprintf(a.peers[0].key, sizeof a.peers[0].key, "%064d", 1);
    snprintf(a.peers[0].endpoint, sizeof a.peers[0].endpoint, "tcp://\"odd\"\\host\n:1");
    snprintf(a.peers[0].state, sizeof a.peers[0].state, "connected");
    snprintf(a.peers[0].source, sizeof a.peers[0].source, "static");
    a.peers[0].bytes_sent = 19;
    a.peers[0].bytes_recv = 20;
    a.peers[0].last_seen = 21;
    a.peers[0].last_sync = 22;
    a.peers[0].failures = 23;
    snprintf(a.peers[1].key, sizeof a.peers[1].key, "%064d", 2);
    snprintf(a.peers[1].state, sizeof a.peers[1].state, "inbound");
    snprintf(a.peers[1].source, sizeof a.peers[1].source, "inbound");
    struct hbuf j;
    hbuf_init(&j, 1 << 20);
    assert_int_equal(node_status_json(&a, &j), HERR_OK);
    size_t len = strlen((const char *)j.data);
    assert_int_equal(node_status_parse((const char *)j.data, len, &b), HERR_OK);
    /* The endpoint's newline comes back as "?" (a control character never reaches a terminal). */
    assert_string_equal(b.peers[0].endpoint, "tcp://\"odd\"\\host?:1");
    snprintf(b.peers[0].endpoint, sizeof b.peers[0].endpoint, "%s", a.peers[0].endpoint);
    assert_memory_equal(&a, &b, sizeof a);
    /* Cut short anywhere, or with something after it: refused, never read past n. */
    for (size_t cut = 0; cut < len; cut++) {
        char *part = malloc(cut ? cut : 1);
        assert_non_null(part);
        memcpy(part, j.data, cut);
        assert_int_equal(node_status_parse(part, cut, &b), HERR_MALFORMED);
        free(part);
    }
    static const char *const bad[] = {
        "{\"pid\":\"x\"}",           /* a string where a number belongs */
        "{\"events\":}",             /* no value */
        "{\"x\":[[[[[[[[1]]]]]]]]}", /* too deep */
        "{\"pid\":1}{",              /* something after it */
        "[1]",                       /* not an object */
        "{\"peers\":[{\"key\":1}]}", /* a number where a string belongs */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(node_status_parse(bad[i], strlen(bad[i]), &b), HERR_MALFORMED);
    /* Unknown fields (a newer node's) are skipped. */
    const char *newer = "{\"pid\":7,\"future\":{\"a\":[1,\"b\"]},\"events\":3}";
    assert_int_equal(node_status_parse(newer, strlen(newer), &b), HERR_OK);
    assert_int_equal(b.pid, 7);
    assert_int_equal(b.events, 3);
    hbuf_release(&j);
}

/* fill - n bytes of printable ASCII (quotes and backslashes among them) from seed,
 * NUL-terminated: the longest string a field of n + 1 bytes holds. */
static void fill(char *out, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(0x20 + (seed + i * 7) % 95);
    out[n] = 0;
}

/* Every field of the status, each with its own value and every string as long as its
 * field holds, comes back from the JSON as it was; a string one byte longer than its
 * field is refused, not cut. */
static void test_status_every_field(void **state)
{
    (void)state;
    static struct node_stats a, b;
    memset(&a, 0, sizeof a);
    uint64_t v = 1000;
    uint64_t *u64s[] = {&a.pid,
                        &a.interval,
                        &a.fanout,
                        &a.taken,
                        &a.started,
                        &a.events,
                        &a.bytes_sent,
                        &a.bytes_recv,
                        &a.sessions_ok,
                        &a.sessions_failed,
                        &a.sessions_in,
                        &a.sessions_out,
                        &a.busy_refused,
                        &a.pushes_sent,
                        &a.pushes_recv,
                        &a.pushes_new,
                        &a.pushes_dropped,
                        &a.pushes_handed_to_sync,
                        &a.push_backlog,
                        &a.inbound_evicted,
                        &a.push_in_session,
                        &a.contacts_dropped,
                        &a.full_refused,
                        &a.ingest.accepted,
                        &a.ingest.duplicate,
                        &a.replica_checked};
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++)
        *u64s[i] = v++;
    a.bytes_sent = UINT64_MAX / 2; /* a 19-digit number */
    for (int r = 0; r < HERR_COUNT; r++)
        a.ingest.rejected[r] = v++;
    fill(a.version, sizeof a.version - 1, 1);
    fill(a.listen, sizeof a.listen - 1, 2);
    fill(a.access, sizeof a.access - 1, 3);
    a.discovery = true;
    a.disk_full = true;
    a.replica = NODE_REPLICA_OK;
    a.npeers = NODE_STATUS_PEERS;
    for (size_t i = 0; i < a.npeers; i++) {
        struct node_peer_stats *p = &a.peers[i];
        fill(p->key, sizeof p->key - 1, (unsigned)(4 * i + 4));
        fill(p->endpoint, sizeof p->endpoint - 1, (unsigned)(4 * i + 5));
        fill(p->source, sizeof p->source - 1, (unsigned)(4 * i + 6));
        fill(p->state, sizeof p->state - 1, (unsigned)(4 * i + 7));
        p->bytes_sent = v++;
        p->bytes_recv = v++;
        p->last_seen = v++;
        p->last_sync = v++;
        p->failures = v++;
    }
    struct hbuf j;
    hbuf_init(&j, 1 << 20);
    assert_int_equal(node_status_json(&a, &j), HERR_OK);
    assert_int_equal(node_status_parse((const char *)j.data, strlen((const char *)j.data), &b),
                     HERR_OK);
    assert_memory_equal(&a, &b, sizeof a);
    /* The other two states of the replica and of the flags. */
    a.discovery = a.disk_full = false;
    a.replica = NODE_REPLICA_DAMAGED;
    hbuf_reset(&j);
    assert_int_equal(node_status_json(&a, &j), HERR_OK);
    assert_int_equal(node_status_parse((const char *)j.data, strlen((const char *)j.data), &b),
                     HERR_OK);
    assert_memory_equal(&a, &b, sizeof a);
    hbuf_release(&j);

    /* One byte too long, for each string field: refused. */
    char text[1024], s[300];
    static const struct {
        const char *before, *after;
        size_t len;
    } over[] = {
        {"{\"version\":\"", "\"}", sizeof a.version},
        {"{\"listen\":\"", "\"}", sizeof a.listen},
        {"{\"access\":\"", "\"}", sizeof a.access},
        {"{\"peers\":[{\"key\":\"", "\"}]}", sizeof a.peers[0].key},
        {"{\"peers\":[{\"endpoint\":\"", "\"}]}", sizeof a.peers[0].endpoint},
        {"{\"peers\":[{\"source\":\"", "\"}]}", sizeof a.peers[0].source},
        {"{\"peers\":[{\"state\":\"", "\"}]}", sizeof a.peers[0].state},
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        memset(s, 'x', over[i].len - 1);
        s[over[i].len - 1] = 0;
        snprintf(text, sizeof text, "%s%s%s", over[i].before, s, over[i].after);
        assert_int_equal(node_status_parse(text, strlen(text), &b), HERR_OK);
        s[over[i].len - 1] = 'x';
        s[over[i].len] = 0;
        snprintf(text, sizeof text, "%s%s%s", over[i].before, s, over[i].after);
        assert_int_equal(node_status_parse(text, strlen(text), &b), HERR_MALFORMED);
    }
    /* A member name too long for any field of ours is a newer node's: skipped. */
    memset(s, 'n', 100);
    s[100] = 0;
    snprintf(text, sizeof text, "{\"%s\":\"x\",\"pid\":5}", s);
    assert_int_equal(node_status_parse(text, strlen(text), &b), HERR_OK);
    assert_int_equal(b.pid, 5);
}

/* A replayable source for rotation_pick's ties (splitmix64). */
static uint32_t seeded(void *ctx, uint32_t upper)
{
    uint64_t *st = ctx;
    uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)((z ^ (z >> 31)) % upper);
}

/* Rounds as the node runs them (node.c, anti_entropy): k peers, `want` a round, the
 * chosen stamped with the round's number. Every peer is chosen within ceil(k / want)
 * rounds of the start, and within every ceil(k / want) rounds after; a round takes
 * min(want, k) distinct peers, oldest stamps first. */
static void rotate(size_t k, size_t want, uint64_t *seed)
{
    uint64_t stamps[40] = {0};
    size_t chosen[40];
    size_t turn = (k + want - 1) / want;
    assert_true(k <= 40);
    for (uint64_t round = 1; round <= 6 * turn + 3; round++) {
        size_t got = rotation_pick(stamps, k, want, chosen, seed ? seeded : NULL, seed);
        assert_int_equal(got, want < k ? want : k);
        uint64_t newest_taken = 0, oldest_left = UINT64_MAX;
        for (size_t i = 0; i < got; i++) {
            assert_true(chosen[i] < k);
            for (size_t j = 0; j < i; j++)
                assert_true(chosen[j] != chosen[i]);
            if (i)
                assert_true(stamps[chosen[i - 1]] <= stamps[chosen[i]]);
            if (stamps[chosen[i]] > newest_taken)
                newest_taken = stamps[chosen[i]];
        }
        for (size_t p = 0; p < k; p++) {
            bool taken = false;
            for (size_t i = 0; i < got; i++)
                taken |= chosen[i] == p;
            if (!taken && stamps[p] < oldest_left)
                oldest_left = stamps[p];
        }
        assert_true(oldest_left == UINT64_MAX || newest_taken <= oldest_left);
        for (size_t i = 0; i < got; i++)
            stamps[chosen[i]] = round;
        /* No peer waits longer than its turn: after `round` rounds, each was last
         * chosen less than `turn` rounds ago (or, before its first turn was up, not yet). */
        for (size_t p = 0; p < k; p++)
            if (round >= turn)
                assert_true(stamps[p] > round - turn);
    }
}

static void test_rotation_takes_every_peer_in_turn(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (size_t k = 1; k <= 33; k++)
        for (size_t want = 1; want <= 5; want++) {
            rotate(k, want, &seed);
            rotate(k, want, NULL); /* the node's own randomness */
        }
    /* A peer never chosen (new, or not connected at the last rounds) goes first. */
    uint64_t stamps[6] = {5, 3, 9, 0, 3, 7};
    size_t chosen[6];
    assert_int_equal(rotation_pick(stamps, 6, 2, chosen, seeded, &seed), 2);
    assert_int_equal(chosen[0], 3);
    assert_true(chosen[1] == 1 || chosen[1] == 4);
    assert_int_equal(rotation_pick(stamps, 6, 0, chosen, NULL, NULL), 0);
    assert_int_equal(rotation_pick(stamps, 0, 2, chosen, NULL, NULL), 0);
    /* Ties go at random: among equal stamps each is taken first some of the time
     * (seeded, so the counts are the same every run). */
    uint64_t same[5] = {4, 4, 4, 4, 4};
    unsigned first[5] = {0};
    for (int t = 0; t < 500; t++) {
        assert_int_equal(rotation_pick(same, 5, 1, chosen, seeded, &seed), 1);
        first[chosen[0]]++;
    }
    for (int i = 0; i < 5; i++)
        assert_in_range(first[i], 50, 150);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_overrides),
        cmocka_unit_test(test_log_limits),
        cmocka_unit_test(test_config_rejections),
        cmocka_unit_test(test_beacon_roundtrip_and_rejections),
        cmocka_unit_test(test_discovery_filters),
        cmocka_unit_test(test_bucket_holds_the_rate),
        cmocka_unit_test(test_bucket_slow_rates_refill),
        cmocka_unit_test(test_bucket_idle_and_debt),
        cmocka_unit_test(test_rotation_takes_every_peer_in_turn),
        cmocka_unit_test(test_status_roundtrip),
        cmocka_unit_test(test_status_every_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

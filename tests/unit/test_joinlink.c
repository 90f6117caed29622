/* test_joinlink.c - join links: the test vector of docs/PROTOCOL.md ("Join links")
 * both ways, a round trip of the bare node address, and a catalogue of malformed
 * links, each refused with its one-line reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/crypto.h"
#include "node/joinlink.h"

#define NODE "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define FORUM "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define VECTOR                                                                                     \
    "hearth://" NODE "@192.168.1.5:7437,[fd00::5]:7437,hub.local:7437/" FORUM                      \
    "?invite=ABCD2345EFGH6789"

static void vector_link(struct joinlink *l)
{
    memset(l, 0, sizeof *l);
    for (int i = 0; i < 32; i++)
        l->node[i] = (uint8_t)i, l->forum[i] = (uint8_t)(32 + i);
    l->naddrs = 3;
    strcpy(l->addrs[0], "192.168.1.5:7437");
    strcpy(l->addrs[1], "[fd00::5]:7437");
    strcpy(l->addrs[2], "hub.local:7437");
    l->has_forum = true;
    strcpy(l->invite, "ABCD2345EFGH6789");
}

static void test_vector(void **state)
{
    struct joinlink want, got;
    char text[JOINLINK_MAX + 1], addr[300];
    vector_link(&want);
    assert_int_equal(joinlink_format(&want, text, sizeof text), HERR_OK);
    assert_string_equal(text, VECTOR);
    assert_int_equal(joinlink_parse(VECTOR, &got, NULL), HERR_OK);
    assert_memory_equal(got.node, want.node, HEARTH_PK_LEN);
    assert_memory_equal(got.forum, want.forum, HEARTH_ID_LEN);
    assert_true(got.has_forum);
    assert_int_equal(got.naddrs, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(got.addrs[i], want.addrs[i]);
    assert_string_equal(got.invite, want.invite);
    joinlink_address(&got, 1, addr, sizeof addr);
    assert_string_equal(addr, "hearth://" NODE "@[fd00::5]:7437");
    /* Too small a buffer is an error, never a cut link. */
    assert_int_equal(joinlink_format(&want, text, strlen(VECTOR)), HERR_TOO_LARGE);
    assert_int_equal(joinlink_format(&want, text, strlen(VECTOR) + 1), HERR_OK);
}

static void test_bare_and_no_code(void **state)
{
    struct joinlink l;
    char text[JOINLINK_MAX + 1];
    assert_int_equal(joinlink_parse("hearth://" NODE "@10.0.0.1:7437", &l, NULL), HERR_OK);
    assert_false(l.has_forum);
    assert_int_equal(l.naddrs, 1);
    assert_int_equal(joinlink_parse("hearth://" NODE "@10.0.0.1:7437/" FORUM, &l, NULL), HERR_OK);
    assert_true(l.has_forum);
    assert_string_equal(l.invite, "");
    assert_int_equal(joinlink_format(&l, text, sizeof text), HERR_OK);
    assert_string_equal(text, "hearth://" NODE "@10.0.0.1:7437/" FORUM);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *link, *why;
    } bad[] = {
        {"", "starts with hearth://"},
        {"http://" NODE "@10.0.0.1:7437/" FORUM, "starts with hearth://"},
        {"HEARTH://" NODE "@10.0.0.1:7437/" FORUM, "starts with hearth://"},
        {"hearth://" NODE, "node key"},
        {"hearth://00" NODE "@10.0.0.1:7437", "node key"},
        {"hearth://"
         "000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f"
         "@10.0.0.1:7437",
         "node key"},
        {"hearth://" NODE "@", "HOST:PORT"},
        {"hearth://" NODE "@10.0.0.1", "HOST:PORT"},
        {"hearth://" NODE "@10.0.0.1:0", "HOST:PORT"},
        {"hearth://" NODE "@10.0.0.1:65536", "HOST:PORT"},
        {"hearth://" NODE "@10.0.0.1:07437", "HOST:PORT"},
        {"hearth://" NODE "@10.0.0.1:+7437", "HOST:PORT"},
        {"hearth://" NODE "@:7437", "HOST:PORT"},
        {"hearth://" NODE "@a..b:7437", "HOST:PORT"},
        {"hearth://" NODE "@-a:7437", "HOST:PORT"},
        {"hearth://" NODE "@a b:7437", "HOST:PORT"},
        {"hearth://" NODE "@[fd00::5:7437", "HOST:PORT"},
        {"hearth://" NODE "@[nothex]:7437", "HOST:PORT"},
        {"hearth://" NODE "@fd00::5:7437", "HOST:PORT"},
        {"hearth://" NODE "@10.0.0.1:7437,", "HOST:PORT"},
        {"hearth://" NODE "@a:1,b:2,c:3,d:4,e:5", "more than 4"},
        {"hearth://" NODE "@10.0.0.1:7437/", "forum id"},
        {"hearth://" NODE "@10.0.0.1:7437/" FORUM "0", "forum id"},
        {"hearth://" NODE "@10.0.0.1:7437/" FORUM "/", "forum id"},
        {"hearth://" NODE "@10.0.0.1:7437/" FORUM "?invite=ABCD", "invite"},
        {"hearth://" NODE "@10.0.0.1:7437/" FORUM "?invite=abcd2345efgh6789", "invite"},
        {"hearth://" NODE "@10.0.0.1:7437/" FORUM "?invite=ABCD2345EFGH67891", "invite"},
        {"hearth://" NODE "@10.0.0.1:7437/" FORUM "?code=ABCD2345EFGH6789", "invite"},
        {"hearth://" NODE "@10.0.0.1:7437?invite=ABCD2345EFGH6789", "invite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct joinlink l;
        const char *why = NULL;
        if (joinlink_parse(bad[i].link, &l, &why) != HERR_USAGE)
            fail_msg("accepted: %s", bad[i].link);
        assert_non_null(why);
        assert_null(strchr(why, '\n'));
        if (!strstr(why, bad[i].why))
            fail_msg("%s: said '%s', not '%s'", bad[i].link, why, bad[i].why);
    }
    /* Longer than any link can be. */
    char longer[JOINLINK_MAX + 10];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, "hearth://", 9);
    struct joinlink l;
    const char *why;
    assert_int_equal(joinlink_parse(longer, &l, &why), HERR_USAGE);
    assert_non_null(strstr(why, "longer"));
}

static void test_format_refuses(void **state)
{
    struct joinlink l;
    char text[JOINLINK_MAX + 1];
    vector_link(&l);
    strcpy(l.invite, "abcd");
    assert_int_equal(joinlink_format(&l, text, sizeof text), HERR_USAGE);
    vector_link(&l);
    strcpy(l.addrs[1], "nohost");
    assert_int_equal(joinlink_format(&l, text, sizeof text), HERR_USAGE);
    vector_link(&l);
    l.naddrs = 0;
    assert_int_equal(joinlink_format(&l, text, sizeof text), HERR_USAGE);
}

int main(void)
{
    if (crypto_start())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_bare_and_no_code),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_format_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  =========================================================================
    test_peers - the authorized-peers file and the collector's config file

    Unit tests of collector/peers.c and collector/config.c on real files in
    a temporary directory.
    =========================================================================
*/
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "collector/config.h"
#include "collector/peers.h"
#include "tests/support/testsupport.h"

static void
s_new_key(char out[41])
{
    zcert_t *c = zcert_new();
    assert_non_null(c);
    snprintf(out, 41, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
}

static wq_peer_t
s_agent(const char *key, const char *id, const char *county)
{
    wq_peer_t p;
    memset(&p, 0, sizeof p);
    p.kind = WQ_PEER_AGENT;
    snprintf(p.key, sizeof p.key, "%s", key);
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.county, sizeof p.county, "%s", county);
    return p;
}

static wq_peer_t
s_client(const char *key, const char *name)
{
    wq_peer_t p;
    memset(&p, 0, sizeof p);
    p.kind = WQ_PEER_CLIENT;
    snprintf(p.key, sizeof p.key, "%s", key);
    snprintf(p.id, sizeof p.id, "%s", name);
    return p;
}

static void
test_peers_append_and_load(void **state)
{
    (void) state;
    char *tmp = ts_tmpdir();
    char *path = ts_strf("%s/peers", tmp);
    wq_peers_t *peers = NULL;
    wq_err_t err;

    /* A missing file is an empty list. */
    assert_int_equal(wq_peers_load(path, &peers, &err), WQ_OK);
    assert_int_equal(wq_peers_count(peers), 0);
    wq_peers_destroy(&peers);
    assert_null(peers);

    assert_int_equal(wq_peers_create(path, &err), WQ_OK);
    assert_int_equal(wq_peers_create(path, &err), WQ_E_IO);   /* never overwritten */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    char k1[41], k2[41], k3[41], k4[41];
    s_new_key(k1);
    s_new_key(k2);
    s_new_key(k3);
    s_new_key(k4);
    wq_peer_t a1 = s_agent(k1, "130102-01", "130102");
    wq_peer_t a2 = s_agent(k2, "130521-01", "130521");   /* a 2019 code retired in 2020 */
    wq_peer_t c1 = s_client(k3, "zhang.san@hebei");
    assert_int_equal(wq_peers_append(path, &a1, &err), WQ_OK);
    assert_int_equal(wq_peers_append(path, &a2, &err), WQ_OK);
    assert_int_equal(wq_peers_append(path, &c1, &err), WQ_OK);

    /* Duplicates: same key (as another kind), same agent id, same client name. */
    wq_peer_t d1 = s_client(k1, "other");
    assert_int_equal(wq_peers_append(path, &d1, &err), WQ_E_DUPFIELD);
    assert_string_equal(err.field, "key");
    assert_non_null(strstr(err.text, "line 7"));
    wq_peer_t d2 = s_agent(k4, "130102-01", "130104");
    assert_int_equal(wq_peers_append(path, &d2, &err), WQ_E_DUPFIELD);
    assert_string_equal(err.field, "agent id");
    wq_peer_t d3 = s_client(k4, "zhang.san@hebei");
    assert_int_equal(wq_peers_append(path, &d3, &err), WQ_E_DUPFIELD);

    /* Bad peers are refused before the file is touched. */
    wq_peer_t b1 = s_agent(k4, "130100-01", "130100");    /* a city */
    assert_int_equal(wq_peers_append(path, &b1, &err), WQ_E_COUNTY);
    wq_peer_t b2 = s_agent(k4, "bad id", "130102");
    assert_int_equal(wq_peers_append(path, &b2, &err), WQ_E_FORMAT);
    wq_peer_t b3 = s_agent("abc", "x-1", "130102");
    assert_int_equal(wq_peers_append(path, &b3, &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "key");
    wq_peer_t b4 = s_client(k4, "张三");
    assert_int_equal(wq_peers_append(path, &b4, &err), WQ_E_FORMAT);

    assert_int_equal(wq_peers_load(path, &peers, &err), WQ_OK);
    assert_int_equal(wq_peers_count(peers), 3);
    const wq_peer_t *p = wq_peers_find_key(peers, k1);
    assert_non_null(p);
    assert_int_equal(p->kind, WQ_PEER_AGENT);
    assert_string_equal(p->id, "130102-01");
    assert_string_equal(p->county, "130102");
    assert_int_equal(p->line, 7);
    p = wq_peers_find_key(peers, k3);
    assert_non_null(p);
    assert_int_equal(p->kind, WQ_PEER_CLIENT);
    assert_string_equal(p->id, "zhang.san@hebei");
    assert_null(wq_peers_find_key(peers, k4));
    assert_ptr_equal(wq_peers_find_agent(peers, "130521-01"), wq_peers_at(peers, 1));
    assert_null(wq_peers_find_agent(peers, "zhang.san@hebei"));   /* a client is not an agent */
    assert_null(wq_peers_at(peers, 3));
    wq_peers_destroy(&peers);

    ts_tmpdir_remove(&tmp);
    free(path);
}

/*  Hand-written files: comments, blanks, tabs, a key containing '#', and
    every kind of bad line, each reported with its line number. */
static void
test_peers_parse(void **state)
{
    (void) state;
    char *tmp = ts_tmpdir();
    char *path = ts_strf("%s/peers", tmp);
    wq_peers_t *peers = NULL;
    wq_err_t err;
    /* A valid key with '#' in it. */
    char key[41] = "";
    for (int i = 0; i < 1000 && !strchr(key, '#'); i++)
        s_new_key(key);
    assert_non_null(strchr(key, '#'));
    char k2[41];
    s_new_key(k2);

    char *text = ts_strf("# header\n\n   # indented comment\n\tagent  %s\t130102-01   130102  \r\n"
                         "client %s staff\n",
                         key, k2);
    ts_write_file(path, text);
    free(text);
    assert_int_equal(wq_peers_load(path, &peers, &err), WQ_OK);
    assert_int_equal(wq_peers_count(peers), 2);
    assert_string_equal(wq_peers_at(peers, 0)->key, key);
    assert_int_equal(wq_peers_at(peers, 0)->line, 4);
    assert_string_equal(wq_peers_at(peers, 1)->id, "staff");
    wq_peers_destroy(&peers);

    /* Each bad line: a prefix, the key (or a truncated one), a suffix. */
    const struct {
        const char *pre;
        int keylen;
        const char *post;
    } bad[] = {
        {"agent ", 40, " 130102-01\n"},                 /* missing county */
        {"agent ", 40, " 130102-01 130102 extra\n"},    /* too many */
        {"client ", 40, "\n"},                          /* missing name */
        {"server ", 40, " x\n"},                        /* unknown kind */
        {"agent ", 40, " 130102-01 999999\n"},          /* unknown county */
        {"agent ", 40, " 130102/01 130102\n"},          /* bad agent id */
        {"agent ", 39, " 130102-01 130102\n"},          /* short key */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        text = ts_strf("# ok\nclient %s ok\n%s%.*s%s", key, bad[i].pre, bad[i].keylen, k2, bad[i].post);
        ts_write_file(path, text);
        assert_int_equal(wq_peers_load(path, &peers, &err), WQ_E_CONFIG);
        assert_null(peers);
        assert_non_null(strstr(err.text, "line 3"));
        free(text);
    }
    /* The same key twice, the same agent twice. */
    text = ts_strf("agent %s a-1 130102\nclient %s b\n", key, key);
    ts_write_file(path, text);
    assert_int_equal(wq_peers_load(path, &peers, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "line 1"));
    free(text);
    text = ts_strf("agent %s a-1 130102\nagent %s a-1 130104\n", key, k2);
    ts_write_file(path, text);
    assert_int_equal(wq_peers_load(path, &peers, &err), WQ_E_CONFIG);
    free(text);

    ts_tmpdir_remove(&tmp);
    free(path);
}

static void
test_config(void **state)
{
    (void) state;
    char *tmp = ts_tmpdir();
    char *path = ts_strf("%s/collector.conf", tmp);
    wq_collector_config_t cfg;
    wq_err_t err;
    assert_int_equal(wq_collector_config_defaults(&cfg), WQ_OK);
    assert_string_equal(cfg.ingest, "tcp://0.0.0.0:5570");
    assert_string_equal(cfg.query, "tcp://0.0.0.0:5571");
    assert_int_equal(cfg.map_size, (uint64_t) 8 << 30);
    assert_int_equal(cfg.credit, 4);
    assert_int_equal(cfg.max_batch, 500);

    assert_int_equal(wq_collector_config_set(&cfg, "map_size", "512M", &err), WQ_OK);
    assert_int_equal(cfg.map_size, (uint64_t) 512 << 20);
    assert_int_equal(wq_collector_config_set(&cfg, "map_size", "3145728", &err), WQ_OK);
    assert_int_equal(cfg.map_size, 3145728);
    assert_int_equal(wq_collector_config_set(&cfg, "map_size", "12Q", &err), WQ_E_FORMAT);
    assert_int_equal(wq_collector_config_set(&cfg, "map_size", "1K", &err), WQ_E_RANGE);
    assert_int_equal(wq_collector_config_set(&cfg, "max_batch", "1001", &err), WQ_E_RANGE);
    assert_int_equal(wq_collector_config_set(&cfg, "credit", "-1", &err), WQ_E_FORMAT);
    assert_int_equal(wq_collector_config_set(&cfg, "ingest", "localhost:5570", &err), WQ_E_FORMAT);
    assert_int_equal(wq_collector_config_set(&cfg, "colour", "blue", &err), WQ_E_UNKNOWN);
    assert_int_equal(wq_collector_config_set(&cfg, "ingest", "tcp://127.0.0.1:7000", &err), WQ_OK);
    assert_int_equal(wq_collector_config_set(&cfg, "credit", "9", &err), WQ_OK);

    /* Save and load back. */
    assert_int_equal(wq_collector_config_save(&cfg, path, &err), WQ_OK);
    assert_int_equal(wq_collector_config_save(&cfg, path, &err), WQ_E_IO);   /* never overwritten */
    wq_collector_config_t back;
    assert_int_equal(wq_collector_config_defaults(&back), WQ_OK);
    assert_int_equal(wq_collector_config_load(&back, path, &err), WQ_OK);
    assert_string_equal(back.ingest, "tcp://127.0.0.1:7000");
    assert_int_equal(back.credit, 9);
    assert_int_equal(back.map_size, 3145728);
    wq_collector_config_clear(&back);
    wq_collector_config_clear(&back);   /* safe twice */

    /* A bad line is reported with its number. */
    ts_write_file(path, "# c\ncredit = 2\nmax_batch 3\n");
    assert_int_equal(wq_collector_config_load(&cfg, path, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "line 3"));
    ts_write_file(path, "\n\nheartbeat_ms = 5\n");
    assert_int_equal(wq_collector_config_load(&cfg, path, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "line 3"));
    char *missing = ts_strf("%s/none.conf", tmp);
    assert_int_equal(wq_collector_config_load(&cfg, missing, &err), WQ_E_IO);
    free(missing);

    wq_collector_config_clear(&cfg);
    ts_tmpdir_remove(&tmp);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers_append_and_load),
        cmocka_unit_test(test_peers_parse),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

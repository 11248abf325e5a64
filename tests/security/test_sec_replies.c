/*  =========================================================================
    test_sec_replies - one record cannot hide the others

    Issue 10, finding 3: one quarantined record of ~60 KB full of control
    characters made a cell over 64 KiB (each becomes \\u00XX in JSON) and
    the whole `quarantine` reply failed for everyone, with an error that
    suggested --from/--to, which that query does not take. Now the cell is
    cut with a visible mark and the other quarantined records are listed.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#define A_ID "130102-01"
#define A_COUNTY "130102"

static void
test_huge_quarantined_record(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 9);
    assert_int_equal(it_hello(&a), 0);

    /* seq 1: a visit whose findings are 8 000 control characters (the
       record decodes, validation refuses it; as JSON each is \u0001, so
       the record cell is 48 KB); seq 2: a record for another
       county (quarantined E_FOREIGN, small). */
    wq_record_t *r = wq_record_new(WQ_REC_VISIT);
    assert_non_null(r);
    wq_record_set_identity(r, A_ID, 9, 1, 1559347200000ull);
    char code[19];
    it_credit_code(7, code);
    it_set(r, "date", "2019-06-01");
    it_set(r, "county", A_COUNTY);
    it_set(r, "ent", code);
    it_set(r, "cadres", "张三");
    it_set(r, "method", "field_visit");
    r->findings = malloc(8001);        /* the field's limit: 8 000 bytes */
    assert_non_null(r->findings);
    memset(r->findings, 0x01, 8000);
    r->findings[8000] = '\0';
    r->present |= 1ull << WQ_F_FINDINGS;
    uint8_t *buf = NULL;
    size_t size = 0;
    assert_int_equal(wq_record_encode(r, &buf, &size), WQ_OK);
    wq_record_destroy(&r);
    wq_blob_t blobs[2] = {{buf, size}, it_record(&a, 2, "130627", 8, false)};
    it_send_batch_blobs(&a, 1, blobs, 2);
    wq_msg_t *ack = it_expect(&a, WQ_MSG_ACK);
    assert_int_equal(ack->ack.hwm, 2);
    assert_int_equal(ack->ack.count, 2);
    wq_msg_destroy(&ack);

    char *out = NULL, *errout = NULL;
    int qrc = it_query(&env, &out, &errout, "quarantine", "--format", "json", NULL, NULL, NULL);
    if (qrc != 0)
        fail_msg("quarantine query failed (exit %d): %s", qrc, errout ? errout : "");
    free(errout);
    it_rows_t rows = it_json_rows(out);
    assert_int_equal(rows.count, 2);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "code", "E_FOREIGN", &row), 1);
    size_t cut = 0;
    for (size_t i = 0; i < rows.count; i++) {
        const char *rec = it_cell(rows.rows[i], "record");
        if (rec && strstr(rec, "\xe2\x80\xa6[cut]")) {
            cut++;
            assert_true(strlen(rec) <= 4096);
        }
    }
    if (cut != 1)
        fail_msg("expected one cut cell in %.600s", out);
    it_rows_free(&rows);
    free(out);
    it_agent_close(&a);
    zcert_destroy(&ca);
    it_stop(&env);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_quarantined_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*  Accounts: add, verify (right, wrong, unknown), save atomically with
    mode 0600, reload, refuse a world-readable file, malformed lines,
    field checks, password change, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tests/support/testsupport.h"
#include "web/accounts.h"

static void test_accounts(void **state)
{
    (void)state;
    char *dir = ts_tmpdir();
    char *path = ts_strf("%s/accounts", dir);
    wq_accounts_t *a = NULL;
    wq_err_t err;
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_OK);
    assert_int_equal(wq_accounts_count(a), 0);
    assert_int_equal(wq_accounts_add(a, "省厅王", "correct horse", "province", "130000", &err), WQ_OK);
    assert_int_equal(wq_accounts_add(a, "sjz", "battery staple", "city", "130100", &err), WQ_OK);
    /* field checks */
    assert_int_equal(wq_accounts_add(a, "sjz", "battery staple", "city", "130100", &err), WQ_E_STATE);
    assert_int_equal(wq_accounts_add(a, "short", "1234567", "city", "130100", &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "password");
    assert_int_equal(wq_accounts_add(a, "", "12345678", "city", "130100", &err), WQ_E_FORMAT);
    assert_int_equal(wq_accounts_add(a, "tab\tname", "12345678", "city", "130100", &err), WQ_E_FORMAT);
    assert_int_equal(wq_accounts_add(a, "x", "12345678", "ci ty", "130100", &err), WQ_E_FORMAT);
    assert_int_equal(wq_accounts_add(a, "x", "12345678", "city", "", &err), WQ_E_FORMAT);
    assert_int_equal(wq_accounts_add(a, "\xff", "12345678", "city", "1", &err), WQ_E_FORMAT);
    /* verify */
    wq_account_t who;
    assert_int_equal(wq_accounts_verify(a, "sjz", "battery staple", &who, &err), WQ_OK);
    assert_string_equal(who.role, "city");
    assert_string_equal(who.area, "130100");
    assert_int_equal(wq_accounts_verify(a, "sjz", "battery stapl", &who, &err), WQ_E_AUTH);
    assert_int_equal(wq_accounts_verify(a, "nobody", "battery staple", &who, &err), WQ_E_AUTH);
    assert_int_equal(wq_accounts_verify(a, "sjz", NULL, &who, &err), WQ_E_AUTH);
    assert_int_equal(wq_accounts_save(a, &err), WQ_OK);
    wq_accounts_destroy(&a);
    assert_null(a);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* no password in clear, Argon2id hashes */
    char *text = ts_read_file(path);
    assert_null(strstr(text, "battery"));
    assert_non_null(strstr(text, "$argon2id$"));
    free(text);
    /* reload, change a password, remove one */
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_OK);
    assert_int_equal(wq_accounts_count(a), 2);
    assert_string_equal(wq_accounts_at(a, 0)->name, "省厅王");
    assert_int_equal(wq_accounts_verify(a, "省厅王", "correct horse", &who, &err), WQ_OK);
    assert_int_equal(wq_accounts_set_password(a, "sjz", "new password", &err), WQ_OK);
    assert_int_equal(wq_accounts_set_password(a, "nobody", "new password", &err), WQ_E_NOTFOUND);
    assert_int_equal(wq_accounts_remove(a, "省厅王", &err), WQ_OK);
    assert_int_equal(wq_accounts_remove(a, "省厅王", &err), WQ_E_NOTFOUND);
    assert_int_equal(wq_accounts_save(a, &err), WQ_OK);
    wq_accounts_destroy(&a);
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_OK);
    assert_int_equal(wq_accounts_count(a), 1);
    assert_null(wq_accounts_find(a, "省厅王"));
    assert_int_equal(wq_accounts_verify(a, "sjz", "battery staple", &who, &err), WQ_E_AUTH);
    assert_int_equal(wq_accounts_verify(a, "sjz", "new password", &who, &err), WQ_OK);
    wq_accounts_destroy(&a);
    /* a world-readable file is refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(wq_accounts_open(path, &a, &err), WQ_E_CONFIG);
    assert_null(a);
    /* a malformed line is refused with its number */
    char *bad = ts_strf("%s/bad", dir);
    ts_write_file(bad, "\nname\tcity\n");
    assert_int_equal(chmod(bad, 0600), 0);
    assert_int_equal(wq_accounts_open(bad, &a, &err), WQ_E_CORRUPT);
    assert_non_null(strstr(err.text, "line 2"));
    free(bad);
    free(path);
    ts_tmpdir_remove(&dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

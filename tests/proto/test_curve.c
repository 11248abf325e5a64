/*  =========================================================================
    test_curve - CURVE key files: made, loaded, checked, on real files

    Every test works in its own temporary directory with real files and
    real modes. The process umask is set to 022 (the usual one) so that the
    "secret file is owner-only" checks mean something: a helper that relied
    on a strict umask would fail here.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/curve.h"
#include "tests/support/testsupport.h"

static int
s_setup(void **state)
{
    umask(022);
    *state = ts_tmpdir();
    return *state ? 0 : -1;
}

static int
s_teardown(void **state)
{
    char *dir = *state;
    ts_tmpdir_remove(&dir);
    return 0;
}

static unsigned
s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (unsigned) (st.st_mode & 07777);
}

static void
test_create_and_load(void **state)
{
    const char *tmp = *state;
    char *keydir = ts_strf("%s/keys", tmp);
    char *pub = ts_strf("%s/keys/agent.key", tmp);
    char *sec = ts_strf("%s/keys/agent.key_secret", tmp);
    wq_err_t err;
    zcert_t *made = NULL, *loaded = NULL;

    assert_int_equal(wq_curve_create(pub, "130102-01", &made, &err), WQ_OK);
    assert_non_null(made);
    assert_int_equal(s_mode(keydir), 0700);
    assert_int_equal(s_mode(sec), 0600);
    assert_int_equal(s_mode(pub), 0644);

    /* the public file has no secret in it */
    char *pub_text = ts_read_file(pub);
    assert_non_null(pub_text);
    assert_null(strstr(pub_text, "secret-key"));
    assert_non_null(strstr(pub_text, zcert_public_txt(made)));
    assert_null(strstr(pub_text, zcert_secret_txt(made)));
    free(pub_text);

    assert_int_equal(wq_curve_load_pair(pub, &loaded, &err), WQ_OK);
    assert_non_null(loaded);
    assert_true(zcert_eq(made, loaded));
    assert_string_equal(zcert_secret_txt(loaded), zcert_secret_txt(made));
    assert_string_equal(zcert_meta(loaded, "name"), "130102-01");

    /* the public key, from the file and from its text */
    char key[WQ_CURVE_KEY_TXT];
    assert_int_equal(wq_curve_public_key(pub, key, &err), WQ_OK);
    assert_string_equal(key, zcert_public_txt(made));
    memset(key, 0, sizeof key);
    assert_int_equal(wq_curve_public_key(zcert_public_txt(made), key, &err), WQ_OK);
    assert_string_equal(key, zcert_public_txt(made));
    /* given the secret certificate, only its public key is taken */
    memset(key, 0, sizeof key);
    assert_int_equal(wq_curve_public_key(sec, key, &err), WQ_OK);
    assert_string_equal(key, zcert_public_txt(made));

    /* a bare key in a text file */
    char *bare = ts_strf("%s/collector.pub", tmp);
    char *line = ts_strf("  %s \n", zcert_public_txt(made));
    ts_write_file(bare, line);
    memset(key, 0, sizeof key);
    assert_int_equal(wq_curve_public_key(bare, key, &err), WQ_OK);
    assert_string_equal(key, zcert_public_txt(made));

    /* a key file whose path is exactly 40 characters, all of them in the
       Z85 alphabet, is read as a file, not taken for a key */
    char *dir40 = ts_strf("%s/%.*s", tmp, (int) (40 - strlen(tmp) - 2 - 4), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(mkdir(dir40, 0700), 0);
    char *path40 = ts_strf("%s/k.pk", dir40);
    assert_int_equal(strlen(path40), 40);
    ts_write_file(path40, line);
    memset(key, 0, sizeof key);
    assert_int_equal(wq_curve_public_key(path40, key, &err), WQ_OK);
    assert_string_equal(key, zcert_public_txt(made));
    free(path40);
    free(dir40);

    zcert_destroy(&made);
    zcert_destroy(&loaded);
    free(line);
    free(bare);
    free(keydir);
    free(pub);
    free(sec);
}

static void
test_never_overwrites(void **state)
{
    const char *tmp = *state;
    char *pub = ts_strf("%s/c.key", tmp);
    char *sec = ts_strf("%s/c.key_secret", tmp);
    wq_err_t err;
    assert_int_equal(wq_curve_create(pub, "collector", NULL, &err), WQ_OK);
    char *before = ts_read_file(sec);
    assert_non_null(before);

    assert_int_equal(wq_curve_create(pub, "collector", NULL, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "exists already"));
    char *after = ts_read_file(sec);
    assert_string_equal(before, after);
    free(after);

    /* only the secret left: still refused */
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(wq_curve_create(pub, NULL, NULL, &err), WQ_E_CONFIG);
    after = ts_read_file(sec);
    assert_string_equal(before, after);
    free(after);
    free(before);
    free(pub);
    free(sec);
}

static void
test_secret_permissions(void **state)
{
    const char *tmp = *state;
    char *pub = ts_strf("%s/a.key", tmp);
    char *sec = ts_strf("%s/a.key_secret", tmp);
    wq_err_t err;
    zcert_t *cert = NULL;
    assert_int_equal(wq_curve_create(pub, NULL, NULL, &err), WQ_OK);
    assert_int_equal(wq_curve_check_secret(sec, &err), WQ_OK);

    static const mode_t too_open[] = {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0620, 0602};
    for (size_t i = 0; i < sizeof too_open / sizeof too_open[0]; i++) {
        assert_int_equal(chmod(sec, too_open[i]), 0);
        assert_int_equal(wq_curve_check_secret(sec, &err), WQ_E_CONFIG);
        assert_string_equal(err.field, sec);
        assert_non_null(strstr(err.text, "chmod 600"));
        assert_int_equal(wq_curve_load_pair(pub, &cert, &err), WQ_E_CONFIG);
        assert_null(cert);
        assert_non_null(strstr(err.text, "chmod 600"));
    }
    char *shown = ts_strf("mode 0644");
    assert_int_equal(chmod(sec, 0644), 0);
    assert_int_equal(wq_curve_check_secret(sec, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, shown));
    free(shown);

    /* owner-only read is fine */
    assert_int_equal(chmod(sec, 0400), 0);
    assert_int_equal(wq_curve_load_pair(pub, &cert, &err), WQ_OK);
    zcert_destroy(&cert);

    /* not a regular file */
    char *d = ts_strf("%s/dir.key_secret", tmp);
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(wq_curve_check_secret(d, &err), WQ_E_CONFIG);
    free(d);

    /* missing */
    char *none = ts_strf("%s/none.key", tmp);
    assert_int_equal(wq_curve_load_pair(none, &cert, &err), WQ_E_NOTFOUND);
    assert_null(cert);
    free(none);
    free(pub);
    free(sec);
}

static void
test_bad_secret_files(void **state)
{
    const char *tmp = *state;
    wq_err_t err;
    zcert_t *a = NULL, *b = NULL, *cert = NULL;
    char *pa = ts_strf("%s/a.key", tmp), *pb = ts_strf("%s/b.key", tmp);
    assert_int_equal(wq_curve_create(pa, NULL, &a, &err), WQ_OK);
    assert_int_equal(wq_curve_create(pb, NULL, &b, &err), WQ_OK);

    /* a secret file whose public key is another peer's */
    char *mixed = ts_strf("%s/m.key", tmp), *mixed_sec = ts_strf("%s/m.key_secret", tmp);
    char *text = ts_strf("curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                         zcert_public_txt(a), zcert_secret_txt(b));
    ts_write_file(mixed_sec, text);
    assert_int_equal(chmod(mixed_sec, 0600), 0);
    assert_int_equal(wq_curve_load_pair(mixed, &cert, &err), WQ_E_CONFIG);
    assert_non_null(strstr(err.text, "does not belong"));
    assert_null(cert);
    free(text);

    /* a public certificate saved under the secret name: no secret key */
    text = ts_read_file(pa);
    ts_write_file(mixed_sec, text);
    assert_int_equal(wq_curve_load_pair(mixed, &cert, &err), WQ_E_CONFIG);
    assert_null(cert);
    free(text);

    /* garbage */
    ts_write_file(mixed_sec, "this is not a certificate\n\x01\x02\n");
    assert_int_equal(wq_curve_load_pair(mixed, &cert, &err), WQ_E_CONFIG);
    assert_null(cert);

    /* secret key not Z85 */
    text = ts_strf("curve\n    public-key = \"%s\"\n    secret-key = \"%.39s,\"\n",
                   zcert_public_txt(a), zcert_secret_txt(a));
    ts_write_file(mixed_sec, text);
    assert_int_equal(wq_curve_load_pair(mixed, &cert, &err), WQ_E_CONFIG);
    assert_null(cert);
    free(text);

    zcert_destroy(&a);
    zcert_destroy(&b);
    free(pa);
    free(pb);
    free(mixed);
    free(mixed_sec);
}

static void
test_public_key_forms(void **state)
{
    const char *tmp = *state;
    wq_err_t err;
    char key[WQ_CURVE_KEY_TXT];
    /* libzmq's documented test vector key is valid Z85 */
    const char *good = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    assert_int_equal(wq_curve_key_check(good, &err), WQ_OK);
    assert_int_equal(wq_curve_public_key(good, key, &err), WQ_OK);
    assert_string_equal(key, good);

    /* 40 characters but not Z85: says so (E_FORMAT), not "file not found" */
    assert_int_equal(wq_curve_public_key("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\"", key, &err),
                     WQ_E_FORMAT);
    assert_non_null(strstr(err.text, "character 40"));
    /* a group above 2^32-1 */
    assert_int_equal(wq_curve_key_check("#####rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H", &err),
                     WQ_E_FORMAT);
    assert_int_equal(wq_curve_key_check("short", &err), WQ_E_FORMAT);
    assert_int_equal(wq_curve_key_check(NULL, &err), WQ_E_FORMAT);
    assert_int_equal(wq_curve_public_key("", key, &err), WQ_E_FORMAT);

    /* neither key nor file */
    char *missing = ts_strf("%s/nope.key", tmp);
    assert_int_equal(wq_curve_public_key(missing, key, &err), WQ_E_NOTFOUND);
    free(missing);

    /* a file without a key */
    char *junk = ts_strf("%s/junk.key", tmp);
    ts_write_file(junk, "hello\n");
    assert_int_equal(wq_curve_public_key(junk, key, &err), WQ_E_FORMAT);
    ts_write_file(junk, "curve\n    public-key = \"tooshort\"\n");
    assert_int_equal(wq_curve_public_key(junk, key, &err), WQ_E_FORMAT);
    free(junk);
}

static void
test_paths(void **state)
{
    const char *tmp = *state;
    wq_err_t err;
    char out[64];
    assert_int_equal(wq_curve_secret_path("a.key", out, sizeof out, &err), WQ_OK);
    assert_string_equal(out, "a.key_secret");
    assert_int_equal(wq_curve_secret_path("0123456789012345678901234567890123456789012345678901234567",
                                          out, sizeof out, &err),
                     WQ_E_CONFIG);
    char longpath[WQ_CURVE_PATH_MAX + 2];
    memset(longpath, 'k', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(wq_curve_create(longpath, NULL, NULL, &err), WQ_E_CONFIG);
    assert_int_equal(wq_curve_create("", NULL, NULL, &err), WQ_E_CONFIG);

    /* the directory's parent must exist */
    char *deep = ts_strf("%s/no/such/dir/a.key", tmp);
    assert_int_equal(wq_curve_create(deep, NULL, NULL, &err), WQ_E_IO);
    free(deep);

    /* an existing directory is used as it is */
    char *open_dir = ts_strf("%s/shared", tmp);
    assert_int_equal(mkdir(open_dir, 0755), 0);
    char *in_open = ts_strf("%s/shared/q.key", tmp);
    assert_int_equal(wq_curve_create(in_open, NULL, NULL, &err), WQ_OK);
    assert_int_equal(s_mode(open_dir), 0755);
    char *sec = ts_strf("%s_secret", in_open);
    assert_int_equal(s_mode(sec), 0600);
    free(sec);
    free(in_open);
    free(open_dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_never_overwrites, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_secret_permissions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_secret_files, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_public_key_forms, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_paths, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

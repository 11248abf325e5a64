/*  Forms (pieces, limits), the JSON writer, the wbuf (escaping, caps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "web/assets.h"
#include "web/form.h"
#include "web/jsonw.h"
#include "web/wbuf.h"

static void test_form(void **state)
{
    (void)state;
    wq_form_t *f = wq_form_new(20, 3);
    wq_err_t err;
    assert_int_equal(wq_form_add(f, "name", NULL, NULL, 0, "张三", 6, &err), WQ_OK);
    assert_int_equal(wq_form_add(f, "file", "a.csv", "text/csv", 0, "a,b", 3, &err), WQ_OK);
    assert_int_equal(wq_form_add(f, "file", NULL, NULL, 3, "\n1,2", 4, &err), WQ_OK);
    assert_int_equal(wq_form_add(f, "file", NULL, NULL, 3, "x", 1, &err), WQ_E_FORMAT);
    assert_string_equal(wq_form_get(f, "name"), "张三");
    const wq_form_field_t *file = wq_form_field(f, "file");
    assert_int_equal(file->len, 7);
    assert_string_equal(file->value, "a,b\n1,2");
    assert_string_equal(file->filename, "a.csv");
    assert_null(wq_form_get(f, "none"));
    /* byte cap: 13 used of 20 */
    assert_int_equal(wq_form_add(f, "x", NULL, NULL, 0, "12345678", 8, &err), WQ_E_RANGE);
    assert_true(wq_form_too_large(f));
    assert_int_equal(wq_form_add(f, "y", NULL, NULL, 0, "1", 1, &err), WQ_E_RANGE);
    wq_form_destroy(&f);
    /* field cap */
    f = wq_form_new(100, 2);
    assert_int_equal(wq_form_add(f, "a", NULL, NULL, 0, "1", 1, &err), WQ_OK);
    assert_int_equal(wq_form_add(f, "a", NULL, NULL, 0, "2", 1, &err), WQ_OK);
    assert_int_equal(wq_form_add(f, "b", NULL, NULL, 0, "3", 1, &err), WQ_E_RANGE);
    assert_int_equal(wq_form_count(f), 2);
    assert_string_equal(wq_form_at(f, 1)->value, "2");
    wq_form_destroy(&f);
    assert_null(f);
}

static void test_jsonw(void **state)
{
    (void)state;
    wq_wbuf_t b = {0};
    wq_jsonw_t w;
    wq_jsonw_init(&w, &b);
    wq_jsonw_obj(&w);
    wq_jsonw_key(&w, "城市");
    wq_jsonw_str(&w, "石家庄\"</script>\n");
    wq_jsonw_key(&w, "n");
    wq_jsonw_int(&w, -42);
    wq_jsonw_key(&w, "list");
    wq_jsonw_arr(&w);
    wq_jsonw_bool(&w, true);
    wq_jsonw_null(&w);
    wq_jsonw_double(&w, 0.5);
    wq_jsonw_str(&w, NULL);
    wq_jsonw_end(&w);
    wq_jsonw_end(&w);
    assert_true(wq_jsonw_done(&w));
    assert_string_equal(b.data, "{\"城市\":\"石家庄\\\"\\u003c/script\\u003e\\n\",\"n\":-42,"
                                "\"list\":[true,null,0.5,null]}");
    wq_wbuf_free(&b);
    /* misuse: value without key, unbalanced end */
    wq_jsonw_init(&w, &b);
    wq_jsonw_obj(&w);
    wq_jsonw_int(&w, 1);
    assert_false(wq_jsonw_done(&w));
    assert_true(b.oom);
    wq_wbuf_free(&b);
    wq_jsonw_init(&w, &b);
    wq_jsonw_end(&w);
    assert_false(wq_jsonw_done(&w));
    wq_wbuf_free(&b);
}

static void test_wbuf(void **state)
{
    (void)state;
    wq_wbuf_t b = {0};
    wq_wbuf_html(&b, "<a href=\"x\">'&'</a>");
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    wq_wbuf_free(&b);
    wq_wbuf_urlenc(&b, "a b/石");
    assert_string_equal(b.data, "a%20b%2F%E7%9F%B3");
    wq_wbuf_free(&b);
    wq_wbuf_printf(&b, "%d-%s", 7, "x");
    size_t len = 0;
    char *out = wq_wbuf_take(&b, &len);
    assert_string_equal(out, "7-x");
    assert_int_equal(len, 3);
    free(out);
    /* cap */
    b.limit = 4;
    wq_wbuf_puts(&b, "1234");
    assert_false(b.oom);
    wq_wbuf_puts(&b, "5");
    assert_true(b.oom);
    assert_null(wq_wbuf_take(&b, &len));
    assert_int_equal(b.limit, 4);
    /* empty take gives "" */
    out = wq_wbuf_take(&b, &len);
    assert_string_equal(out, "");
    free(out);
}

static void test_assets(void **state)
{
    (void)state;
    static const unsigned char d[] = "x";
    const wq_asset_t items[] = {{"app.js", d, 1}, {"style.css", d, 1}};
    assert_ptr_equal(wq_assets_find(items, 2, "style.css"), &items[1]);
    assert_null(wq_assets_find(items, 2, "other"));
    assert_string_equal(wq_assets_type("a/b.js"), "text/javascript; charset=utf-8");
    assert_string_equal(wq_assets_type("x.html"), "text/html; charset=utf-8");
    assert_string_equal(wq_assets_type("noext"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_jsonw),
        cmocka_unit_test(test_wbuf),
        cmocka_unit_test(test_assets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

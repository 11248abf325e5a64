/*  =========================================================================
    template - import templates as Excel and WPS users expect (template.h)

    The columns and the drop-down choices come from the field table of
    common/record.c (wq_field_allowed, wq_field_label, wq_enum_label), so
    the template cannot drift from what import accepts.
    =========================================================================
*/
#include "agent/template.h"

#include <errno.h>
#include <string.h>
#include <xlsxwriter.h>
#include "common/i18n.h"
#include "common/json.h"

/*  The types a template offers (corrections need set.FIELD columns: they
    are recorded with `record correction` or a CSV of their own). */
static const wq_rec_type_t s_types[] = {
    WQ_REC_ENTERPRISE, WQ_REC_VISIT, WQ_REC_PROBLEM, WQ_REC_PLAN, WQ_REC_PROGRESS,
    WQ_REC_SERVICE, WQ_REC_CONSULTATION, WQ_REC_ANSWER, WQ_REC_CLASSIFICATION,
    WQ_REC_RETRACTION};

#define S_NTYPES (sizeof s_types / sizeof s_types[0])
#define S_REF_HEADER "编号"
#define S_REF_NOTE "选填。本行自己的编号（如 A-001）：再次导入时按编号认出已记录的行"

/*  Columns of a type in template order: date, ent, the type's own fields,
    by. Identity fields, county (defaults to the agent's), of and set are
    left out. Returns the count. */
static size_t
s_columns(wq_rec_type_t type, wq_field_t out[WQ_F_COUNT])
{
    size_t n = 0;
    if (wq_field_allowed(type, WQ_F_DATE))
        out[n++] = WQ_F_DATE;
    if (wq_field_allowed(type, WQ_F_ENT))
        out[n++] = WQ_F_ENT;
    for (int f = WQ_F_NAME; f < WQ_F_COUNT; f++) {
        if (f == WQ_F_OF || f == WQ_F_SET || !wq_field_allowed(type, (wq_field_t) f))
            continue;
        out[n++] = (wq_field_t) f;
    }
    if (wq_field_allowed(type, WQ_F_BY))
        out[n++] = WQ_F_BY;
    return n;
}

const char *
wq_template_note(wq_rec_type_t type, wq_field_t field)
{
    bool req = wq_field_required(type, field);
    switch (field) {
    case WQ_F_DATE:
        return "必填。日期，如 2019-05-06、2019/5/6 或 2019年5月6日";
    case WQ_F_ENT:
        return req ? "必填。18位统一社会信用代码" : "选填。18位统一社会信用代码";
    case WQ_F_BY:
        return "选填。录入人姓名";
    case WQ_F_NAME:
        return "必填。企业全称";
    case WQ_F_INDUSTRY:
        return "必填。国民经济行业代码，如 C 或 C2614";
    case WQ_F_ADDRESS:
        return "选填。地址";
    case WQ_F_ABOVE_SIZE:
        return "选填。是 / 否";
    case WQ_F_CADRE:
        return "选填。包联干部姓名";
    case WQ_F_CADRES:
        return "必填。走访干部姓名，多人用顿号或逗号分开";
    case WQ_F_FINDINGS:
        return "选填。发现的情况";
    case WQ_F_DESCRIPTION:
        return "必填。问题描述";
    case WQ_F_VISIT:
        return "选填。发现问题的走访：本表“@行号”、序号（如 17）或完整记录号";
    case WQ_F_PROBLEM:
        return "必填。所属问题：序号（如 17）或完整记录号";
    case WQ_F_MEASURES:
        return "必填。整改措施";
    case WQ_F_GOAL:
        return "选填。服务目标";
    case WQ_F_DEADLINE:
        return "必填。整改期限，如 2019-08-31";
    case WQ_F_NOTE:
        return "选填。备注";
    case WQ_F_CONTENT:
        return "必填。服务内容";
    case WQ_F_QUESTION:
        return "必填。企业提出的问题";
    case WQ_F_CONSULTATION:
        return "必填。所属咨询：序号（如 17）或完整记录号";
    case WQ_F_ANSWER:
        return "必填。答复内容";
    case WQ_F_REASON:
        return "必填。理由";
    case WQ_F_TARGET:
        return "必填。要撤销的记录：序号（如 17）或完整记录号";
    default:
        if (wq_field_is_enum(field))
            return req ? "必填。从下拉列表选择" : "选填。从下拉列表选择";
        return req ? "必填" : "选填";
    }
}

/*  ---- xlsx ---------------------------------------------------------------- */

static const char *const s_instructions[] = {
    "万企 · 一企一册 记录导入模板",
    "",
    "1. 每个工作表是一类记录（企业、走访、问题、整改方案……），第1行是列名，第2行是填写说明，从第3行起每行填一条记录。",
    "2. 带下拉箭头的列请从列表中选择；日期可写 2019-05-06、2019/5/6、2019.5.6 或 2019年5月6日。",
    "3. 用不到的工作表留空即可；空行会被跳过。",
    "4. 保存后在工作站上运行：wanqi-agent import 文件名.xlsx",
    "5. 同一个文件可以放心重复导入：已经记录过的行会被跳过，并告诉您它的记录号；改正出错的行后再导入，只存入新改好的行。",
    "6. 整改方案、整改进展要写所属问题的序号：先导入问题，按屏幕上显示的记录号填写（如 17）。",
    "7. 区县代码不用填，默认是本工作站的区县。",
};

static int
s_xlsx_err(lxw_error e, const char *path, wq_err_t *err)
{
    return wq_err_set(err, WQ_E_IO, "file", _("cannot write %s: %s"), path, lxw_strerror(e));
}

int
wq_template_write_xlsx(const char *path, wq_err_t *err)
{
    lxw_workbook_options opts = {.constant_memory = LXW_FALSE, .tmpdir = NULL};
    lxw_workbook *wb = workbook_new_opt(path, &opts);
    if (!wb)
        return wq_err_set(err, WQ_E_IO, "file", _("cannot create %s"), path);
    lxw_format *head = workbook_add_format(wb);
    format_set_bold(head);
    format_set_bg_color(head, 0xDDEBF7);
    format_set_border(head, LXW_BORDER_THIN);
    lxw_format *head_req = workbook_add_format(wb);
    format_set_bold(head_req);
    format_set_font_color(head_req, 0xC00000);
    format_set_bg_color(head_req, 0xDDEBF7);
    format_set_border(head_req, LXW_BORDER_THIN);
    lxw_format *note = workbook_add_format(wb);
    format_set_italic(note);
    format_set_font_color(note, 0x595959);
    format_set_text_wrap(note);
    format_set_bg_color(note, 0xF2F2F2);
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd");
    lxw_format *text = workbook_add_format(wb);
    format_set_num_format(text, "@");
    lxw_format *title = workbook_add_format(wb);
    format_set_bold(title);
    format_set_font_size(title, 14);

    lxw_worksheet *ws = workbook_add_worksheet(wb, "说明");
    worksheet_set_column(ws, 0, 0, 110, NULL);
    for (size_t i = 0; i < sizeof s_instructions / sizeof s_instructions[0]; i++)
        worksheet_write_string(ws, (lxw_row_t) i, 0, s_instructions[i], i == 0 ? title : NULL);

    for (size_t t = 0; t < S_NTYPES; t++) {
        wq_rec_type_t type = s_types[t];
        wq_field_t cols[WQ_F_COUNT];
        size_t n = s_columns(type, cols);
        ws = workbook_add_worksheet(wb, wq_rec_type_label(type));
        if (!ws)
            break;
        for (size_t c = 0; c <= n; c++) {
            lxw_col_t col = (lxw_col_t) c;
            if (c == n) {       /* the ref column */
                worksheet_write_string(ws, 0, col, S_REF_HEADER, head);
                worksheet_write_string(ws, 1, col, S_REF_NOTE, note);
                worksheet_set_column(ws, col, col, 14, text);
                continue;
            }
            wq_field_t f = cols[c];
            bool req = wq_field_required(type, f);
            worksheet_write_string(ws, 0, col, wq_field_label(f), req ? head_req : head);
            char buf[256];
            /* The notes row: its first cell starts with 说明 (import skips it). */
            snprintf(buf, sizeof buf, "%s%s", c == 0 ? "说明：" : "", wq_template_note(type, f));
            worksheet_write_string(ws, 1, col, buf, note);
            bool wide = f == WQ_F_FINDINGS || f == WQ_F_DESCRIPTION || f == WQ_F_MEASURES
                        || f == WQ_F_CONTENT || f == WQ_F_QUESTION || f == WQ_F_ANSWER
                        || f == WQ_F_NAME || f == WQ_F_ADDRESS || f == WQ_F_NOTE;
            lxw_format *fmt = (f == WQ_F_DATE || f == WQ_F_DEADLINE) ? date
                              : (f == WQ_F_ENT || f == WQ_F_INDUSTRY || f == WQ_F_VISIT
                                 || f == WQ_F_PROBLEM || f == WQ_F_CONSULTATION
                                 || f == WQ_F_TARGET) ? text : NULL;
            worksheet_set_column(ws, col, col, wide ? 36 : f == WQ_F_ENT ? 22 : 16, fmt);
            const char *choices[16] = {0};
            int k = 0;
            if (wq_field_is_enum(f)) {
                for (int v = 1; v <= wq_enum_count(f) && k < 15; v++)
                    choices[k++] = wq_enum_label(f, v);
            } else if (f == WQ_F_ABOVE_SIZE) {
                choices[k++] = "是";
                choices[k++] = "否";
            }
            if (k > 0) {
                lxw_data_validation dv = {0};
                dv.validate = LXW_VALIDATION_TYPE_LIST;
                dv.value_list = (char **) choices;
                dv.ignore_blank = LXW_VALIDATION_ON;
                dv.dropdown = LXW_VALIDATION_ON;
                dv.show_error = LXW_VALIDATION_ON;
                dv.error_type = LXW_VALIDATION_ERROR_TYPE_STOP;
                dv.error_title = (char *) "请从列表选择";
                dv.error_message = (char *) "这一列只能填下拉列表中的一项。";
                lxw_error e = worksheet_data_validation_range(ws, 2, col, WQ_TEMPLATE_ROWS + 1,
                                                              col, &dv);
                if (e != LXW_NO_ERROR) {
                    workbook_close(wb);
                    return s_xlsx_err(e, path, err);
                }
            }
        }
        worksheet_set_row(ws, 1, 45, NULL);
        worksheet_freeze_panes(ws, 2, 0);
    }
    lxw_error e = workbook_close(wb);
    if (e != LXW_NO_ERROR)
        return s_xlsx_err(e, path, err);
    return WQ_OK;
}

/*  ---- csv ------------------------------------------------------------------ */

static void
s_csv_cell(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    bool quote = strpbrk(s, ",\"\n\r") != NULL;
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int
wq_template_write_csv(FILE *f, wq_rec_type_t type, wq_err_t *err)
{
    wq_field_t cols[WQ_F_COUNT];
    size_t n = 0;
    if (type != WQ_REC_NONE)
        n = s_columns(type, cols);
    else {
        /* The union of every type's columns, in field-table order. */
        bool seen[WQ_F_COUNT] = {false};
        for (size_t t = 0; t < S_NTYPES; t++) {
            wq_field_t c[WQ_F_COUNT];
            size_t k = s_columns(s_types[t], c);
            for (size_t i = 0; i < k; i++)
                seen[c[i]] = true;
        }
        for (int fl = 0; fl < WQ_F_COUNT; fl++)
            if (seen[fl] && fl != WQ_F_BY)
                cols[n++] = (wq_field_t) fl;
        if (seen[WQ_F_BY])
            cols[n++] = WQ_F_BY;
    }
    fputs("\xEF\xBB\xBF", f);   /* UTF-8 BOM: Excel and WPS then read Chinese right */
    s_csv_cell(f, wq_field_label(WQ_F_TYPE), true);
    for (size_t i = 0; i < n; i++)
        s_csv_cell(f, wq_field_label(cols[i]), false);
    s_csv_cell(f, S_REF_HEADER, false);
    fputs("\r\n", f);
    char buf[400];
    if (type != WQ_REC_NONE)
        snprintf(buf, sizeof buf, "说明：每行一条%s记录，这一列填“%s”", wq_rec_type_label(type),
                 wq_rec_type_label(type));
    else {
        size_t o = (size_t) snprintf(buf, sizeof buf, "说明：记录类型填 ");
        for (size_t t = 0; t < S_NTYPES && o < sizeof buf; t++)
            o += (size_t) snprintf(buf + o, sizeof buf - o, "%s%s", t ? "、" : "",
                                   wq_rec_type_label(s_types[t]));
    }
    s_csv_cell(f, buf, true);
    for (size_t i = 0; i < n; i++) {
        const char *nt = type != WQ_REC_NONE ? wq_template_note(type, cols[i]) : NULL;
        char choices[300] = "";
        if (wq_field_is_enum(cols[i])) {
            size_t o = (size_t) snprintf(choices, sizeof choices, "可填：");
            for (int v = 1; v <= wq_enum_count(cols[i]) && o < sizeof choices; v++)
                o += (size_t) snprintf(choices + o, sizeof choices - o, "%s%s", v > 1 ? "、" : "",
                                       wq_enum_label(cols[i], v));
            nt = choices;
        } else if (!nt)
            nt = wq_template_note(WQ_REC_NONE, cols[i]);
        s_csv_cell(f, nt, false);
    }
    s_csv_cell(f, S_REF_NOTE, false);
    fputs("\r\n", f);
    if (fflush(f) != 0 || ferror(f))
        return wq_err_set(err, WQ_E_IO, "file", _("cannot write the template: %s"),
                          strerror(errno));
    return WQ_OK;
}

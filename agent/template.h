/*  =========================================================================
    template - `wanqi-agent template`: ready-to-fill import files for cadres

    The .xlsx (libxlsxwriter) has a 说明 sheet of instructions, then one
    sheet per record type named by its Chinese label (企业, 走访, 问题, 整改方案,
    整改进展, 服务, 咨询, 答复, 分类监管, 撤销): row 1 the Chinese column headers
    (record.h wq_field_label; required ones bold), row 2 a notes row (its first
    cell starts with "说明", which import skips), and from row 3 empty rows
    with a drop-down list of the Chinese labels on every enum column (and
    是/否 for yes/no), date formatting on date columns and text formatting
    on code columns. The last column, 编号, is the optional ref.
    The CSV form has the same columns for one type, or, without a type,
    a 记录类型 column and the columns of every type; UTF-8 with a BOM so
    that Excel and WPS open it in Chinese.
    Import reads both back (agent/importer.h).
    =========================================================================
*/
#ifndef WQ_AGENT_TEMPLATE_H_INCLUDED
#define WQ_AGENT_TEMPLATE_H_INCLUDED

#include <stdio.h>
#include "common/error.h"
#include "common/record.h"

/*  Rows of the template that carry drop-down lists and formats (3..). */
#define WQ_TEMPLATE_ROWS 2000

/*  Write the workbook to path. Errors: WQ_E_IO (cannot create or write:
    the text says why), WQ_E_NOMEM. */
int wq_template_write_xlsx(const char *path, wq_err_t *err);

/*  Write the CSV template to f: the columns of type, or of every type with a
    记录类型 column first when type is WQ_REC_NONE; header and notes row.
    Errors: WQ_E_IO. */
int wq_template_write_csv(FILE *f, wq_rec_type_t type, wq_err_t *err);

/*  The note shown under a field's header ("必填。…"), Chinese. */
const char *wq_template_note(wq_rec_type_t type, wq_field_t field);

#endif

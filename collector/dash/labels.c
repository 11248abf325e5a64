/*  labels - Chinese column and value names (see labels.h). */
#include "collector/dash/labels.h"

#include <stddef.h>
#include <string.h>
#include "common/labels.h"
#include "common/record.h"

const char *dash_col_label(const char *col)
{
    const char *label = wq_col_label(col);
    return label ? label : col;
}

const char *dash_value_label(const char *col, const char *value)
{
    return wq_value_label(col, value);
}

/*  The label of word as a value of field, or word itself. */
static const char *s_enum(wq_field_t field, const char *word)
{
    int v = wq_enum_parse(field, word);
    return v ? wq_enum_label(field, v) : word;
}

void dash_summary_label(const char *type, const char *summary, char *out, size_t size)
{
    snprintf(out, size, "%s", summary ? summary : "");
    if (!summary || !type)
        return;
    wq_rec_type_t t = wq_rec_type_parse(type);
    const char *colon = strstr(summary, ": ");
    char head[128];
    size_t hl = colon ? (size_t)(colon - summary) : 0;
    if (colon && hl >= sizeof head)
        return;
    if (colon) {
        memcpy(head, summary, hl);
        head[hl] = '\0';
    }
    const char *rest = colon ? colon + 2 : "";
    static const struct {
        wq_rec_type_t type;
        wq_field_t field;
    } one[] = {{WQ_REC_VISIT, WQ_F_METHOD},      {WQ_REC_PROGRESS, WQ_F_STATUS},
               {WQ_REC_SERVICE, WQ_F_KIND},      {WQ_REC_CONSULTATION, WQ_F_CHANNEL},
               {WQ_REC_CLASSIFICATION, WQ_F_CLASS}};
    for (size_t i = 0; colon && i < sizeof one / sizeof one[0]; i++)
        if (one[i].type == t) {
            snprintf(out, size, "%s：%s", s_enum(one[i].field, head), rest);
            return;
        }
    char *slash = colon ? strchr(head, '/') : NULL;
    if (t == WQ_REC_PROBLEM && slash) {
        *slash = '\0';
        snprintf(out, size, "%s（%s）：%s", s_enum(WQ_F_CATEGORY, head),
                 s_enum(WQ_F_SEVERITY, slash + 1), rest);
    } else if (t == WQ_REC_PLAN && colon && strncmp(head, "deadline ", 9) == 0) {
        snprintf(out, size, "整改期限 %s：%s", head + 9, rest);
    } else if (t == WQ_REC_ENTERPRISE) {
        const char *semi = strrchr(summary, ';');
        if (semi)
            snprintf(out, size, "%.*s；行业 %s", (int)(semi - summary), summary,
                     semi[1] == ' ' ? semi + 2 : semi + 1);
    } else if (t == WQ_REC_CORRECTION && colon && strncmp(head, "corrects ", 9) == 0) {
        snprintf(out, size, "更正 %s：%s", head + 9, rest);
    } else if (t == WQ_REC_RETRACTION && colon && strncmp(head, "retracts ", 9) == 0) {
        snprintf(out, size, "撤回 %s：%s", head + 9, rest);
    } else if (t == WQ_REC_GRADING && strncmp(summary, "grade ", 6) == 0) {
        char g[32];
        size_t gl = strcspn(summary + 6, " ");
        if (gl < sizeof g) {
            memcpy(g, summary + 6, gl);
            g[gl] = '\0';
            snprintf(out, size, "绩效分级 %s%s", s_enum(WQ_F_GRADE, g), summary + 6 + gl);
        }
    }
}

/*  =========================================================================
    importer - `wanqi-agent record` and `wanqi-agent import`: turning what
    people write into validated records in the outbox

    Import formats, one event per line/row:
      JSON Lines  one object per line, members named as the wire fields
                  (record.h); a correction's patch as "set.FIELD" members;
                  an optional "ref" member; blank lines are skipped. UTF-8.
      CSV         as Excel and WPS save it: UTF-8 with or without BOM, or
                  GB18030/GBK (detected, converted with iconv), CRLF or LF,
                  comma- or tab-separated, RFC 4180 quoting (quoted cells
                  may span lines). A header row names the columns.
      XLSX        an Excel/WPS workbook (common/xlsx.h): each sheet is a
                  table whose first non-empty row is the header; the sheet
                  name may give the record type ("走访", "visit").
    Headers: the field's wire name in any letter case ("Date"), its Chinese
    label ("日期", record.h wq_field_label) or a common synonym; "set.FIELD"
    (or "更正.标签") for a correction's patch; "ref" (or "编号") for the
    row's own id. Columns that are not fields are ignored (reported once).
    The type comes from a "type"/"记录类型" column, else the sheet name,
    else opts->type. Values: enum codes or Chinese labels, dates as people
    write them (wq_date_normalize, Excel date cells), cells trimmed. Empty
    rows and a template's notes row (first cell starting with "说明") are
    skipped.

    Line numbers are physical lines of the file, starting at 1 (a CSV row
    is numbered by the line it starts on; the header is line 1); in a
    workbook, the row number Excel shows, with the sheet name.

    "@N" in an event-id field (visit, problem, consultation, target) means
    "the record from line N of this same table"; short ids ("17", "last",
    see wq_outbox_short_id) are taken too.

    Never twice: a row whose content is already in the outbox (or equal to
    an earlier row of the same import), or whose ref was already imported,
    is skipped and reported with the id it already has, unless opts->repeat.
    Re-importing a corrected file thus stores only the rows that were
    refused before. A skipped row still resolves "@N" to its existing id.

    Every record's county defaults to the agent's county and must equal it.

    Default mode stores every good row and reports the bad ones; rows are
    committed in chunks of WQ_IMPORT_CHUNK records, and the ids of a chunk
    are reported only after its commit. With all_or_nothing nothing is
    stored if any row is bad (one transaction). With preview nothing is
    stored at all: every row is validated and checked for duplicates in one
    transaction that is aborted (what the workbench shows before "store").

    The row engine (wq_import_new/table/row/finish) is what the web upload
    uses too: feed it the rows of an uploaded file and collect the reports.
    =========================================================================
*/
#ifndef WQ_AGENT_IMPORTER_H_INCLUDED
#define WQ_AGENT_IMPORTER_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include "agent/outbox.h"
#include "common/error.h"
#include "common/record.h"

#define WQ_IMPORT_CHUNK 1000
#define WQ_IMPORT_MAX_FILE (256u << 20)     /* CSV/XLSX read whole: at most this */

typedef enum {
    WQ_IMPORT_AUTO = 0, WQ_IMPORT_JSONL = 1, WQ_IMPORT_CSV = 2, WQ_IMPORT_XLSX = 3
} wq_import_format_t;

/*  What became of one row. */
typedef enum {
    WQ_ROW_STORED = 1,      /* stored (reported after its commit, with its id) */
    WQ_ROW_WOULD_STORE,     /* preview: good and new; no id */
    WQ_ROW_DUPLICATE,       /* already recorded: id is the existing record's */
    WQ_ROW_BAD,             /* refused: message says why and what to write */
    WQ_ROW_NOTE             /* about a table, not a row (ignored column...): not counted */
} wq_row_outcome_t;

typedef struct {
    const char *file;       /* the file name as given */
    const char *sheet;      /* workbook sheet, NULL for CSV/JSONL */
    unsigned long line;     /* line (CSV/JSONL) or row (sheet); 0 for the whole file */
    wq_row_outcome_t outcome;
    wq_rec_type_t type;     /* the row's record type, WQ_REC_NONE if unknown */
    const char *id;         /* STORED: new id; DUPLICATE: existing id; else NULL */
    unsigned long same_as;  /* DUPLICATE of an earlier row of this import: its line */
    const char *message;    /* for a person, in the locale's language, without the
                               location; NULL for STORED/WOULD_STORE */
    const wq_err_t *err;    /* BAD: code and field; else NULL */
} wq_import_row_report_t;

typedef void (wq_import_report_fn)(const wq_import_row_report_t *r, void *arg);

typedef struct {
    wq_import_format_t format;  /* AUTO: from the name (.jsonl/.ndjson/.json, .csv/.txt, .xlsx) */
    bool all_or_nothing;
    bool repeat;                /* store rows even if already recorded */
    bool preview;               /* validate and find duplicates, store nothing */
    wq_rec_type_t type;         /* type when neither a column nor the sheet says; may be NONE */
    const char *county;         /* the agent's county: default and required value */
    FILE *out;                  /* "LINE<TAB>ID" per stored row, after commit; may be NULL */
    FILE *errors;               /* one line per bad/duplicate row and note; may be NULL */
    wq_import_report_fn *report;    /* called per row outcome; may be NULL */
    void *report_arg;
} wq_import_opts_t;

typedef struct {
    size_t lines;               /* rows read (not blank rows, headers or notes) */
    size_t stored;              /* stored (preview: would be stored) */
    size_t duplicates;          /* skipped as already recorded */
    size_t bad;
    unsigned long first_bad_line;   /* 0 if none */
} wq_import_result_t;

typedef struct wq_import_t wq_import_t;

/*  Give rec the agent's county if it has none, check it equals county, and
    check the content (wq_record_validate_content). Used by `record` and
    `import`. Errors: WQ_E_FOREIGN and any validation code. */
int wq_import_prepare(wq_record_t *rec, const char *county, wq_err_t *err);

/*  References that hold, and what cannot be right (issue 11):
      - a plan, progress, answer, correction or retraction naming an event
        of this agent that the outbox does not have is refused (WQ_E_NOTFOUND,
        with the id); one naming another agent's event is accepted (the
        collector resolves it when both have arrived);
      - the named event must be of the right type (a plan's problem is a
        problem, an answer's consultation a consultation, a correction's
        target of type "of") (WQ_E_TYPE);
      - a plan or progress whose enterprise differs from its problem's, or an
        answer whose enterprise differs from its consultation's, is refused
        (WQ_E_FORMAT);
      - an activity date after today (China Standard Time) or a plan whose
        deadline is before its date is refused (WQ_E_RANGE);
      - a text field of only spaces is refused (WQ_E_RANGE);
      - an activity date before the campaign (2019-01-01) is accepted with a
        warning in warn (may be NULL; "" if none).
    box or txn (one of them) is where the referenced events are looked up.
    Errors also those of wq_outbox_get. */
int wq_import_check_refs(wq_outbox_t *box, wq_outbox_txn_t *txn, const wq_record_t *rec,
                         char *warn, size_t warn_size, wq_err_t *err);

/*  ---- the row engine ----------------------------------------------------- */

/*  Start an import into box with opts (kept by reference: must outlive the
    import). *out new. Errors: WQ_E_NOMEM. */
int wq_import_new(wq_outbox_t *box, const wq_import_opts_t *opts, wq_import_t **out,
                  wq_err_t *err);

/*  A new table: file (name for messages), sheet (NULL if none), line of
    its header row and the header cells. A header that cannot be used (no
    known column, no type) is reported as a bad row and the table's rows are
    then refused too; returns WQ_OK or that error. */
int wq_import_table(wq_import_t *imp, const char *file, const char *sheet, unsigned long line,
                    const char *const *head, size_t nhead);

/*  One data row of the current table (blank and notes rows are skipped
    here, so feed every row after the header). */
void wq_import_row(wq_import_t *imp, unsigned long line, const char *const *cells, size_t ncells);

/*  True once the import cannot go on (outbox full, I/O error). */
bool wq_import_stopped(const wq_import_t *imp);

/*  Commit (or, for preview/all-or-nothing with bad rows, abort) and free;
    *imp = NULL. res receives the counts. Returns WQ_OK if every row was
    stored or skipped as already recorded; WQ_E_FORMAT etc. if some row was
    bad; WQ_E_FULL/WQ_E_IO... if the import stopped early. */
int wq_import_finish(wq_import_t **imp, wq_import_result_t *res, wq_err_t *err);

/*  ---- whole files -------------------------------------------------------- */

/*  Import path ("-": stdin) into box. Returns as wq_import_finish; also
    WQ_E_IO (file unreadable), WQ_E_FORMAT (not an .xlsx, unknown format,
    undecodable text). */
int wq_import_file(wq_outbox_t *box, const char *path, const wq_import_opts_t *opts,
                   wq_import_result_t *res, wq_err_t *err);

/*  The same for a file held in memory (an upload): name gives the format
    (unless opts->format) and is used in messages. */
int wq_import_buffer(wq_outbox_t *box, const char *name, const void *data, size_t size,
                     const wq_import_opts_t *opts, wq_import_result_t *res, wq_err_t *err);

/*  Text in GB18030/GBK (or UTF-16 with BOM) to UTF-8; UTF-8 (a BOM is
    dropped) is copied. *out malloc'd and NUL-terminated, *outlen its length.
    *encoding (may be NULL) names what was found ("UTF-8", "GB18030",
    "UTF-16"). Errors: WQ_E_UTF8 (neither), WQ_E_NOMEM. */
int wq_import_to_utf8(const char *data, size_t size, char **out, size_t *outlen,
                      const char **encoding, wq_err_t *err);

/*  Parse a format name "jsonl" / "csv" / "xlsx" (also "json", "ndjson",
    "txt"); AUTO if unknown. */
wq_import_format_t wq_import_format_parse(const char *s);

#endif

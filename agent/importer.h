/*  =========================================================================
    importer - `wanqi-agent record` and `wanqi-agent import`: turning text
    into validated records in the outbox

    Import formats (UTF-8, one event per line/row):
      JSON Lines  one object per line, members named as the wire fields
                  (record.h); a correction's patch as "set.FIELD" members;
                  blank lines are skipped.
      CSV         RFC 4180 with a header row of field names (a "type"
                  column is required; "set.FIELD" columns for corrections);
                  an empty cell means "absent"; a UTF-8 BOM is ignored;
                  quoted cells may span lines.
    Line numbers are physical lines of the file, starting at 1; a CSV row is
    numbered by the line it starts on (the header is line 1).

    "@N" in an event-id field (visit, problem, consultation, target) means
    "the id of the record stored from line N of this same file"; N must be an
    earlier line that was stored, otherwise the line is bad.

    Every record's county defaults to the agent's county and must equal it
    (the collector would quarantine it as foreign, E_FOREIGN).

    Default mode stores every good line and reports the bad ones; lines are
    committed in chunks of WQ_IMPORT_CHUNK records, and the ids of a chunk
    are printed only after its commit. With all_or_nothing nothing is stored
    if any line is bad (one transaction). Memory: one id per stored line.
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

typedef enum { WQ_IMPORT_AUTO = 0, WQ_IMPORT_JSONL = 1, WQ_IMPORT_CSV = 2 } wq_import_format_t;

typedef struct {
    wq_import_format_t format;  /* AUTO: from the extension (.jsonl/.ndjson/.json, .csv) */
    bool all_or_nothing;
    const char *county;         /* the agent's county: default and required value */
    FILE *out;                  /* "LINE<TAB>ID" per stored line, after commit; may be NULL */
    FILE *errors;               /* "FILE:LINE: field: why (E_X)" per bad line; may be NULL */
} wq_import_opts_t;

typedef struct {
    size_t lines;               /* records read (excluding blank lines and the header) */
    size_t stored;
    size_t bad;
    unsigned long first_bad_line;   /* 0 if none */
} wq_import_result_t;

/*  Give rec the agent's county if it has none, check it equals county, and
    check the content (wq_record_validate_content). Used by `record` and
    `import`. Errors: WQ_E_FOREIGN and any validation code. */
int wq_import_prepare(wq_record_t *rec, const char *county, wq_err_t *err);

/*  Import path into box. Returns WQ_OK if every line was stored; WQ_E_FORMAT
    etc. if some line was bad (res says how many); WQ_E_IO (file unreadable),
    WQ_E_FULL (outbox full: the import stopped; res->stored were stored) or
    another outbox error. */
int wq_import_file(wq_outbox_t *box, const char *path, const wq_import_opts_t *opts,
                   wq_import_result_t *res, wq_err_t *err);

/*  Parse a format name "jsonl" / "csv" (also "json", "ndjson"); AUTO if
    unknown. */
wq_import_format_t wq_import_format_parse(const char *s);

#endif

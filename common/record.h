/*  =========================================================================
    record - the campaign's records: immutable events, their validation and
    their msgpack encoding

    Every record a county makes is an immutable event with a globally unique
    id (agent, incarnation, seq): the agent assigns seq, strictly increasing
    from 1 within one incarnation, in the same LMDB write transaction that
    stores the event. A changed plan, a new deadline, a solved problem or a
    corrected typo are new events that refer to earlier ones by id.

    Text form of an id:  AGENT/INC/SEQ   e.g. "130102-01/9f86d081/17"
      AGENT  1..32 chars of [A-Za-z0-9_-]
      INC    the agent's incarnation, 8 lower-case hex digits (a random
             non-zero uint32 made by `wanqi-agent init`)
      SEQ    decimal, 1..2^63-1

    One table in record.c describes every field: its wire name, kind,
    limits and which record types take it. Validation, msgpack encode and
    decode, JSON import and `wanqi-agent record --help` are all driven by
    that table, so they cannot disagree.

    Encoding (the same bytes are stored by the agent, carried in BATCH
    messages as opaque bin, and stored by the collector): one msgpack map
    with str keys, in the fixed order of the field table; absent optional
    fields are left out. See proto/PROTOCOL.md section "Records".

    Ownership: a wq_record_t owns every pointer in it; wq_record_destroy
    frees it. Strings are NUL-terminated UTF-8.
    =========================================================================
*/
#ifndef WQ_RECORD_H_INCLUDED
#define WQ_RECORD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "common/json.h"

#define WQ_AGENT_ID_MAX 32
#define WQ_EVENT_ID_MAX 64          /* text form incl. NUL, with room */
#define WQ_RECORD_MAX_BYTES 65536   /* encoded size limit of one record */

/*  Record types; the numbers are internal, the wire uses the names. */
typedef enum {
    WQ_REC_NONE = 0,
    WQ_REC_ENTERPRISE = 1,      /* "enterprise": register or update a profile */
    WQ_REC_VISIT = 2,           /* "visit" */
    WQ_REC_PROBLEM = 3,         /* "problem": opens a problem (its id is the problem id) */
    WQ_REC_PLAN = 4,            /* "plan": for a problem */
    WQ_REC_PROGRESS = 5,        /* "progress": for a problem */
    WQ_REC_SERVICE = 6,         /* "service" */
    WQ_REC_CONSULTATION = 7,    /* "consultation": a question (its id is the consultation id) */
    WQ_REC_ANSWER = 8,          /* "answer": to a consultation */
    WQ_REC_CLASSIFICATION = 9,  /* "classification" */
    WQ_REC_CORRECTION = 10,     /* "correction": new values for fields of an earlier event */
    WQ_REC_RETRACTION = 11,     /* "retraction": an earlier event is void */
    WQ_REC_GRADING = 12,        /* "grading": performance grade (绩效分级), protocol v1.1 */
    WQ_REC_TYPE_COUNT = 13
} wq_rec_type_t;

/*  Enumerations. Each has a wire name list in record.c, in this order,
    starting at index 1 (0 means "absent"). */
typedef enum { WQ_FOCUS_DISCHARGER = 1, WQ_FOCUS_STRATEGIC, WQ_FOCUS_ADVANCED, WQ_FOCUS_TECH_SME, WQ_FOCUS_COUNT } wq_focus_t;
    /* "discharger" "strategic_emerging" "advanced_manufacturing" "tech_sme" */
typedef enum { WQ_METHOD_FIELD = 1, WQ_METHOD_SYMPOSIUM, WQ_METHOD_EXPERT, WQ_METHOD_ENFORCEMENT, WQ_METHOD_COUNT } wq_method_t;
    /* "field_visit" "symposium" "expert_consultation" "enforcement_inspection" */
typedef enum { WQ_CAT_AIR = 1, WQ_CAT_WATER, WQ_CAT_SOLID_WASTE, WQ_CAT_NOISE, WQ_CAT_SOIL, WQ_CAT_PERMITS,
               WQ_CAT_MONITORING, WQ_CAT_OVER_STANDARD, WQ_CAT_OTHER, WQ_CAT_COUNT } wq_category_t;
    /* "air" "water" "solid_waste" "noise" "soil" "permits" "monitoring" "over_standard" "other" */
typedef enum { WQ_SEV_MINOR = 1, WQ_SEV_GENERAL, WQ_SEV_SERIOUS, WQ_SEV_COUNT } wq_severity_t;
    /* "minor" "general" "serious" */
typedef enum { WQ_STATUS_OPEN = 1, WQ_STATUS_IN_PROGRESS, WQ_STATUS_RECTIFIED, WQ_STATUS_VERIFIED,
               WQ_STATUS_REOPENED, WQ_STATUS_COUNT } wq_status_t;
    /* "open" "in_progress" "rectified" "verified" "reopened" */
typedef enum { WQ_SERVICE_LAW = 1, WQ_SERVICE_POLICY, WQ_SERVICE_TECHNOLOGY, WQ_SERVICE_PLAN,
               WQ_SERVICE_SERVICE, WQ_SERVICE_COUNT } wq_service_kind_t;
    /* "law" "policy" "technology" "plan" "service" */
typedef enum { WQ_CHANNEL_RECEPTION_DAY = 1, WQ_CHANNEL_PLATFORM, WQ_CHANNEL_OTHER, WQ_CHANNEL_COUNT } wq_channel_t;
    /* "reception_day" "platform" "other" */
typedef enum { WQ_CLASS_SUPPORT = 1, WQ_CLASS_NORMAL, WQ_CLASS_STRICT, WQ_CLASS_SHUTDOWN, WQ_CLASS_PUNISH,
               WQ_CLASS_COUNT } wq_class_t;
    /* "support" "normal" "strict" "shutdown" "punish" */
/*  Performance grades for differentiated production limits in heavy-pollution
    weather (环办大气函〔2019〕648号; B- from the 2020 revision; "leading" is
    引领性). A is exempt from limits. */
typedef enum { WQ_GRADE_A = 1, WQ_GRADE_B, WQ_GRADE_B_MINUS, WQ_GRADE_C, WQ_GRADE_D, WQ_GRADE_LEADING,
               WQ_GRADE_COUNT } wq_grade_t;
    /* "A" "B" "B-" "C" "D" "leading" */

/*  Fields. Bit i of wq_record_t.present says field i is set. */
typedef enum {
    /* identity and common fields (all types) */
    WQ_F_TYPE = 0,      /* "type"      str, the type name                          required */
    WQ_F_AGENT,         /* "agent"     str, agent id                               required */
    WQ_F_INC,           /* "inc"       uint32 != 0                                 required */
    WQ_F_SEQ,           /* "seq"       uint64 >= 1                                 required */
    WQ_F_DATE,          /* "date"      str YYYY-MM-DD, date of the activity        required */
    WQ_F_RECORDED,      /* "recorded"  uint64, unix ms when the agent stored it    required */
    WQ_F_COUNTY,        /* "county"    str, GB/T 2260 county-level code            required */
    WQ_F_ENT,           /* "ent"       str, credit code; required except correction/retraction */
    WQ_F_BY,            /* "by"        str <=64 B, cadre who recorded it            optional */
    /* enterprise */
    WQ_F_NAME,          /* "name"      str <=200 B                                 required */
    WQ_F_INDUSTRY,      /* "industry"  str GB/T 4754 section A-T, optionally + 2-4 digits ("C", "C3110") required */
    WQ_F_ADDRESS,       /* "address"   str <=300 B                                 optional */
    WQ_F_ABOVE_SIZE,    /* "above_size" bool                                       optional (default false) */
    WQ_F_FOCUS,         /* "focus"     enum wq_focus_t                             optional */
    WQ_F_CADRE,         /* "cadre"     str <=64 B, assigned cadre                  optional */
    /* visit */
    WQ_F_CADRES,        /* "cadres"    array of 1..16 str <=64 B                   required */
    WQ_F_METHOD,        /* "method"    enum wq_method_t                            required */
    WQ_F_FINDINGS,      /* "findings"  str <=8000 B, multi-line                    optional */
    /* problem */
    WQ_F_CATEGORY,      /* "category"  enum wq_category_t                          required */
    WQ_F_SEVERITY,      /* "severity"  enum wq_severity_t                          required */
    WQ_F_DESCRIPTION,   /* "description" str 1..8000 B, multi-line                 required */
    WQ_F_VISIT,         /* "visit"     event id of the source visit                optional */
    /* plan, progress */
    WQ_F_PROBLEM,       /* "problem"   event id of the problem                     required */
    WQ_F_MEASURES,      /* "measures"  str 1..8000 B, multi-line (plan)            required */
    WQ_F_GOAL,          /* "goal"      str <=2000 B (plan)                         optional */
    WQ_F_DEADLINE,      /* "deadline"  str YYYY-MM-DD (plan)                       required */
    WQ_F_STATUS,        /* "status"    enum wq_status_t (progress)                 required */
    WQ_F_NOTE,          /* "note"      str <=8000 B, multi-line (progress)         optional */
    /* service */
    WQ_F_KIND,          /* "kind"      enum wq_service_kind_t                      required */
    WQ_F_CONTENT,       /* "content"   str 1..8000 B, multi-line                   required */
    /* consultation, answer */
    WQ_F_CHANNEL,       /* "channel"   enum wq_channel_t                           required */
    WQ_F_QUESTION,      /* "question"  str 1..8000 B, multi-line                   required */
    WQ_F_CONSULTATION,  /* "consultation" event id (answer)                        required */
    WQ_F_ANSWER,        /* "answer"    str 1..8000 B, multi-line                   required */
    /* classification */
    WQ_F_CLASS,         /* "class"     enum wq_class_t                             required */
    WQ_F_REASON,        /* "reason"    str 1..2000 B; classification, correction, retraction: required */
    /* correction, retraction */
    WQ_F_TARGET,        /* "target"    event id of the event corrected/retracted   required */
    WQ_F_OF,            /* "of"        str, type name of the target (correction)   required */
    WQ_F_SET,           /* "set"       map: fields of type `of` with new values    required, non-empty */
    /* grading (protocol v1.1; appended so older records encode unchanged) */
    WQ_F_GRADE,         /* "grade"     enum wq_grade_t                             required */
    WQ_F_COUNT
} wq_field_t;

typedef struct wq_record_t wq_record_t;
struct wq_record_t {
    wq_rec_type_t type;
    uint64_t present;                       /* bit (1ull << wq_field_t) per field set */

    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t seq;
    char date[11];
    uint64_t recorded_ms;
    char county[7];
    char ent[19];
    char *by;

    /* enterprise */
    char *name;
    char industry[6];
    char *address;
    bool above_size;
    wq_focus_t focus;
    char *cadre;
    /* visit */
    char **cadres;
    size_t ncadres;
    wq_method_t method;
    char *findings;
    /* problem */
    wq_category_t category;
    wq_severity_t severity;
    char *description;
    char visit[WQ_EVENT_ID_MAX];
    /* plan, progress */
    char problem[WQ_EVENT_ID_MAX];
    char *measures;
    char *goal;
    char deadline[11];
    wq_status_t status;
    char *note;
    /* service */
    wq_service_kind_t kind;
    char *content;
    /* consultation, answer */
    wq_channel_t channel;
    char *question;
    char consultation[WQ_EVENT_ID_MAX];
    char *answer;
    /* classification */
    wq_class_t klass;
    char *reason;
    /* correction, retraction */
    char target[WQ_EVENT_ID_MAX];
    wq_rec_type_t of;
    wq_record_t *set;   /* correction: type == of, present = the corrected fields only */
    /* grading (industry above, reason optional) */
    wq_grade_t grade;
};

/*  ---- lifecycle ---------------------------------------------------------- */

/*  New zeroed record of the given type (present has WQ_F_TYPE). NULL on OOM. */
wq_record_t *wq_record_new(wq_rec_type_t type);
/*  Free a record and everything it owns; sets *self to NULL; safe on NULL. */
void wq_record_destroy(wq_record_t **self);

/*  ---- names -------------------------------------------------------------- */

const char *wq_rec_type_name(wq_rec_type_t type);       /* "visit"; "?" if bad */
/*  Whether type is a base record (not correction/retraction): one that
    can be corrected. */
bool wq_rec_type_is_base(wq_rec_type_t type);
wq_rec_type_t wq_rec_type_parse(const char *name);     /* WQ_REC_NONE if unknown */
const char *wq_field_name(wq_field_t field);            /* "deadline" */
wq_field_t wq_field_parse(const char *name);            /* WQ_F_COUNT if unknown */
/*  Enum value names: field is one of the enum fields (FOCUS, METHOD,
    CATEGORY, SEVERITY, STATUS, KIND, CHANNEL, CLASS). Returns "?" if bad. */
const char *wq_enum_name(wq_field_t field, int value);
/*  Parse an enum value name (the wire code, exactly) for field; 0 if
    unknown. The strict form, for decoding the wire. */
int wq_enum_parse(wq_field_t field, const char *name);

/*  ---- Chinese labels (what a person reads and writes) --------------------

    Every enum value, record type and field has one Chinese label, defined
    once in record.c beside the field table. Input from people (CLI, CSV,
    JSON, .xlsx, web forms) takes the label or the code; the wire and the
    stores keep the code. Labels are UTF-8 string constants (never freed).

    Iterating a field's choices, e.g. for a drop-down list:
        for (int v = 1; v <= wq_enum_count(WQ_F_METHOD); v++)
            printf("%s %s\n", wq_enum_name(WQ_F_METHOD, v),    // "field_visit"
                               wq_enum_label(WQ_F_METHOD, v));  // "实地走访"
*/

/*  Whether field is an enum field (FOCUS, METHOD, CATEGORY, SEVERITY,
    STATUS, KIND, CHANNEL, CLASS). */
bool wq_field_is_enum(wq_field_t field);
/*  Number of choices of an enum field (values 1..count); 0 if not an enum. */
int wq_enum_count(wq_field_t field);
/*  Chinese label of value (e.g. WQ_F_METHOD, 1 -> "实地走访"); "?" if bad. */
const char *wq_enum_label(wq_field_t field, int value);
/*  Parse what a person wrote: the code (any letter case) or the Chinese
    label, surrounding spaces (also U+3000) ignored. 0 if neither. */
int wq_enum_parse_text(wq_field_t field, const char *text);
/*  Chinese label of a record type ("走访"); "?" if bad. */
const char *wq_rec_type_label(wq_rec_type_t type);
/*  Parse a record type as a person writes it: name (any case) or label. */
wq_rec_type_t wq_rec_type_parse_text(const char *text);
/*  Chinese label of a field, used as its column header ("整改期限"). */
const char *wq_field_label(wq_field_t field);
/*  Parse a column header: the field name in any letter case ("Date",
    "DEADLINE"), its Chinese label, or a few common synonyms ("信用代码",
    "类型"); spaces around are ignored. WQ_F_COUNT if unknown. */
wq_field_t wq_field_parse_header(const char *text);
/*  Whether record type `type` takes field, and whether it must have it. */
bool wq_field_allowed(wq_rec_type_t type, wq_field_t field);
bool wq_field_required(wq_rec_type_t type, wq_field_t field);
/*  Whether a correction of a `type` record may set field. Not patchable:
    the identity fields (type, agent, inc, seq, recorded), county, and the
    fields that say which entity the event belongs to (ent, problem,
    consultation, and of/target/set themselves): to change those, retract
    the event and record it again. False for correction/retraction types. */
bool wq_field_patchable(wq_rec_type_t type, wq_field_t field);

/*  Apply a correction's patch (a record of the same type holding only the
    corrected fields, wq_record_t.set) to self: each patchable field present
    in patch replaces self's. What a case file shows after a correction.
    Errors: WQ_E_TYPE (patch of another type), WQ_E_NOMEM (self may then
    hold some of the new values). */
int wq_record_apply_patch(wq_record_t *self, const wq_record_t *patch, wq_err_t *err);

/*  Set the identity fields (agent, inc, seq, recorded_ms) and their
    present bits; what the agent does when it stores a record. agent is
    copied (truncated to WQ_AGENT_ID_MAX; wq_record_validate checks it). */
void wq_record_set_identity(wq_record_t *self, const char *agent, uint32_t inc, uint64_t seq,
                            uint64_t recorded_ms);

/*  ---- setting fields from text (CLI, CSV and JSON import) ---------------- */

/*  Line references. In an import file an event-id field (visit, problem,
    consultation, target) may hold "@N": "the record on line N (1-based) of
    the same file". wq_record_set_text / wq_record_from_json accept "@N"
    syntactically and store it as-is in the id field; the importing agent
    must replace it with the real id of that line's record before
    validating: wq_record_validate rejects an unresolved "@N" with
    WQ_E_FORMAT. True if value is "@N" with N in 1..999999999 (no sign, no
    leading zero); then *line (if not NULL) = N. */
bool wq_event_ref_is_line(const char *value, unsigned long *line);

/*  Set one field from its text form: enum names, "true"/"false"/"1"/"0"/
    "yes"/"no" for bools, decimal numbers, comma-separated list for
    "cadres" (or call repeatedly to append), for "set" nothing (use
    wq_record_set_patch_text). Checks the field belongs to the type and its
    syntax and limits (same checks as wq_record_validate for that field).
    Errors: WQ_E_UNKNOWN (field not for this type, or enum value; text lists
    the allowed ones), WQ_E_FORMAT, WQ_E_RANGE, WQ_E_UTF8, WQ_E_CHECKCHAR,
    WQ_E_NOMEM; also WQ_E_COUNTY (county not known; checked against the
    record's date if that is already set, else against any date the code
    was valid) and WQ_E_MISSING (value NULL). On error the record is
    unchanged. Event-id fields also take a line reference "@N" (see
    wq_event_ref_is_line). The identity fields (agent, inc, seq, recorded;
    numbers in decimal) can be set too; "type" only to its current value. */
int wq_record_set_text(wq_record_t *self, const char *field, const char *value, wq_err_t *err);

/*  Correction only: set field of the patch (self->set, created with type
    self->of on first use; self->of must be set first) from text. */
int wq_record_set_patch_text(wq_record_t *self, const char *field, const char *value, wq_err_t *err);

/*  Fill a record's content fields from a JSON object (one JSON Lines
    line): "type" picks the type; a correction's "set" is given as members
    named "set.FIELD". Identity fields (agent, inc, seq, recorded) in the
    object are an error: the agent assigns them. On success *out is a new
    record (not yet validated: call wq_record_validate after the agent has
    set the identity). */
int wq_record_from_json(const wq_json_object_t *obj, wq_record_t **out, wq_err_t *err);

/*  ---- validation --------------------------------------------------------- */

/*  Check every rule: required fields present, no field foreign to the
    type, enums in range, strings valid UTF-8 within limits, the credit
    code's check character, the county known for the activity date,
    dates real, event ids well-formed, a correction's patch valid for its
    type (partial: only the fields it sets). Stops at the first error and
    says which field. Returns WQ_OK or the code. */
int wq_record_validate(const wq_record_t *self, wq_err_t *err);

/*  Validate only the content (skip identity fields agent/inc/seq/recorded):
    what `record` and `import` check before the agent assigns the id. */
int wq_record_validate_content(const wq_record_t *self, wq_err_t *err);

/*  ---- encoding ----------------------------------------------------------- */

/*  Encode as the canonical msgpack map. *buf is malloc'd, caller frees.
    Does not validate (encode what is there). WQ_OK, WQ_E_RANGE (over
    WQ_RECORD_MAX_BYTES) or WQ_E_NOMEM. */
int wq_record_encode(const wq_record_t *self, uint8_t **buf, size_t *size);

/*  Decode buf[0..size) strictly: one msgpack map, str keys, known fields
    only, each field's msgpack type checked, no duplicate keys, no trailing
    bytes, never reading past the buffer. Decoding does NOT validate
    content (unknown county, bad check char...): call wq_record_validate,
    so that a structurally sound but invalid record can be quarantined with
    its reason. On success *out is new. Errors: WQ_E_TRUNCATED, WQ_E_TYPE,
    WQ_E_UNKNOWN, WQ_E_DUPFIELD, WQ_E_TRAILING, WQ_E_RANGE, WQ_E_UTF8,
    WQ_E_NOMEM, with err->field set; also WQ_E_MISSING when the map has no
    "type" (nothing can be built without it).
    Accepted: keys in any order, any msgpack integer width; strings without
    NUL bytes within their field's byte limit. Record type names and enum
    values must be known names (WQ_E_UNKNOWN): they cannot be represented
    otherwise. Re-encoding a decoded canonical encoding gives the same
    bytes. */
int wq_record_decode(const uint8_t *buf, size_t size, wq_record_t **out, wq_err_t *err);

/*  ---- ids ---------------------------------------------------------------- */

/*  Text id of this record ("AGENT/INC/SEQ") into out (WQ_EVENT_ID_MAX). */
void wq_record_id(const wq_record_t *self, char out[WQ_EVENT_ID_MAX]);
/*  Format / parse an event id. Parse returns WQ_OK or WQ_E_FORMAT. */
void wq_event_id_format(const char *agent, uint32_t inc, uint64_t seq, char out[WQ_EVENT_ID_MAX]);
int wq_event_id_parse(const char *text, char agent[WQ_AGENT_ID_MAX + 1], uint32_t *inc, uint64_t *seq,
                      wq_err_t *err);
/*  Check an agent id (1..32 of [A-Za-z0-9_-]). WQ_OK or WQ_E_FORMAT. */
int wq_agent_id_check(const char *agent, wq_err_t *err);

/*  Fold order (docs/STORE.md §3): activity date, then agent, incarnation,
    seq. Negative, 0 or positive like strcmp; 0 only for one event id. The
    one comparator of the collector's folds, its case file and the agent's
    workbench. wq_record_fold_cmp_key compares the same key given as its
    parts (a date of 10 characters, NUL-terminated strings). */
int wq_record_fold_cmp(const wq_record_t *a, const wq_record_t *b);
int wq_record_fold_cmp_key(const char *date_a, const char *agent_a, uint32_t inc_a,
                           uint64_t seq_a, const char *date_b, const char *agent_b,
                           uint32_t inc_b, uint64_t seq_b);

/*  The entity a record belongs to, for indexing and folding:
      enterprise, visit, service, classification -> "E:" + credit code
      problem      -> "P:" + its own id;  plan, progress -> "P:" + problem
      consultation -> "C:" + its own id;  answer -> "C:" + consultation
      correction, retraction -> "" (they belong to their target's entity,
      which only the store can look up)
    into out (WQ_EVENT_ID_MAX + 2). */
void wq_record_entity(const wq_record_t *self, char out[WQ_EVENT_ID_MAX + 2]);

/*  Write the record as one JSON object (one line, no newline) with the
    same field names as the msgpack form, except that a correction's patch
    is written as "set.FIELD" members (as wq_record_from_json reads them):
    for --format json and export, whose output imports again as it is. */
void wq_record_write_json(const wq_record_t *self, FILE *f);

/*  Write the fields a record of `type` takes, one per line ("  name
    required|optional  help"), for `wanqi-agent record TYPE --help`. Driven
    by the same table as validation. Nothing for a bad type. */
void wq_record_write_help(FILE *f, wq_rec_type_t type);

/*  ---- field metadata (forms) -------------------------------------------- */

/*  What kind of value a field takes, for building an input form. */
typedef enum {
    WQ_FK_OTHER = 0,    /* identity and structural fields: not typed by a person */
    WQ_FK_TEXT,         /* free text (see multiline, min, max) */
    WQ_FK_ENUM,         /* one of wq_enum_name(field, 1..nenums) */
    WQ_FK_BOOL,
    WQ_FK_DATE,         /* YYYY-MM-DD */
    WQ_FK_LIST,         /* list of names (cadres) */
    WQ_FK_EVENT,        /* an event id AGENT/INC/SEQ */
    WQ_FK_ENT,          /* a credit code */
    WQ_FK_COUNTY,       /* a GB/T 2260 county code */
    WQ_FK_INDUSTRY,     /* GB/T 4754 section letter + 0-4 digits */
    WQ_FK_TYPE          /* a record type name ("of") */
} wq_field_kind_t;

typedef struct {
    const char *name;       /* wire name */
    wq_field_kind_t kind;
    size_t min, max;        /* length limits in bytes (UTF-8), 0/0 if none */
    bool multiline;
    int nenums;             /* WQ_FK_ENUM: values are 1..nenums */
    const char *help;       /* English help line of the table */
} wq_field_meta_t;

/*  Describe field from the one field table (what `record --help` prints). */
void wq_field_meta(wq_field_t field, wq_field_meta_t *out);


#endif

/*  fuzz_import - libFuzzer target: the import parser (agent/importer.c),
    CSV and JSON Lines, into a real outbox in a temporary folder.

    The first byte picks the format (even: CSV, odd: JSON Lines); the rest
    is the file. Imports are all-or-nothing every other input and
    store-good-lines otherwise; the outbox is emptied (recreated) every
    S_RESET inputs so that it never fills. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent/importer.h"
#include "agent/outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_RESET 500

static char s_dir[64], s_box_dir[80], s_csv[80], s_jsonl[80];
static wq_outbox_t *s_box;
static unsigned s_runs;

static void
s_cleanup(void)
{
    wq_outbox_destroy(&s_box);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (s_dir[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz_import: could not remove %s\n", s_dir);
}

static void
s_open(void)
{
    wq_err_t err;
    char cmd[128];
    wq_outbox_destroy(&s_box);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", s_box_dir, s_box_dir);
    wq_outbox_limits_t lim = {0, 0, 64u << 20};
    if (system(cmd) != 0 || wq_outbox_open(s_box_dir, &lim, &s_box, &err) != WQ_OK ||
        wq_outbox_start_incarnation(s_box, "130102-01", 0x1234abcd, false, &err) != WQ_OK) {
        fprintf(stderr, "fuzz_import: cannot make an outbox in %s\n", s_box_dir);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_dir[0]) {
        snprintf(s_dir, sizeof s_dir, "/tmp/wq-fuzz-import-XXXXXX");
        if (!mkdtemp(s_dir))
            abort();
        snprintf(s_box_dir, sizeof s_box_dir, "%s/box", s_dir);
        snprintf(s_csv, sizeof s_csv, "%s/in.csv", s_dir);
        snprintf(s_jsonl, sizeof s_jsonl, "%s/in.jsonl", s_dir);
        atexit(s_cleanup);
        s_open();
    }
    if (size < 1)
        return 0;
    if (++s_runs % S_RESET == 0)
        s_open();
    const char *path = (data[0] & 1) ? s_jsonl : s_csv;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
        abort();
    FILE *null = fopen("/dev/null", "w");
    wq_import_opts_t opts = {.format = WQ_IMPORT_AUTO, .all_or_nothing = (data[0] & 2) != 0,
                             .county = "130102", .out = null, .errors = null};
    wq_import_result_t res;
    wq_err_t err;
    (void) wq_import_file(s_box, path, &opts, &res, &err);
    if (null)
        fclose(null);
    return 0;
}

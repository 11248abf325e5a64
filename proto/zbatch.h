/*  =========================================================================
    zbatch - zstd compression of a BATCH's records (the ZBATCH message)

    On a link of tens of kilobits only bytes count. A ZBATCH (PROTOCOL.md
    5.10) carries the same records array as a BATCH, compressed as ONE zstd
    frame, optionally with a dictionary trained on campaign records
    (proto/dict/records-ID.zdict, compiled in; scripts/train-zdict): small
    batches, which a slow link needs so that a reset wastes little, gain
    most from the dictionary (in batches of 10 generated records, about 30
    bytes a record against ~92 without it and ~241 raw).

    The decompressor is bounded: it reads the frame's content size first
    and refuses it above the caller's cap before it allocates anything; a
    frame without a content size is decompressed in a stream that stops
    with an error at the cap; the window is limited too. A zip bomb gets
    WQ_E_RANGE, never the memory it asks for.

    No state is kept between calls: each call makes its own zstd context
    (cheap next to a link's round trip), so the functions are thread-safe.
    =========================================================================
*/
#ifndef WQ_ZBATCH_H_INCLUDED
#define WQ_ZBATCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

#define WQ_ZDICT_NONE 0         /* plain zstd, no dictionary */
#define WQ_ZDICT_OFFER_MAX 8    /* dictionary ids in one HELLO */

/*  The dictionary ids this build holds, best first, WQ_ZDICT_NONE last
    (always supported). Writes at most max ids to ids; returns how many. */
size_t wq_zbatch_dicts(uint32_t *ids, size_t max);

/*  True if this build can compress and decompress with dictionary id
    (WQ_ZDICT_NONE included). */
bool wq_zbatch_has_dict(uint32_t id);

/*  The collector's choice (PROTOCOL.md 6.3): the first of the agent's
    offered ids (best first) that this build holds. Returns false, *chosen
    untouched, if none is. */
bool wq_zbatch_choose(const uint32_t *offered, size_t n, uint32_t *chosen);

/*  Compress src[0..n) as one zstd frame (content size in its header) with
    dictionary `dict` (WQ_ZDICT_NONE or an id wq_zbatch_has_dict knows).
    The level follows the size: the highest for small batches (a slow link
    sends small ones), lower for large ones (a fast link sends those, and
    the CPU must keep up). *out is malloc'd, the caller frees it.
    Errors: WQ_E_UNKNOWN (dictionary id), WQ_E_NOMEM, WQ_E_INTERNAL
    (zstd failed: its message in err). */
int wq_zbatch_compress(uint32_t dict, const uint8_t *src, size_t n, uint8_t **out, size_t *outn,
                       wq_err_t *err);

/*  The same at a level no higher than max_level (1..22; 0: as
    wq_zbatch_compress, by size alone). The agent lowers it when its link
    is faster than compressing at the highest level (agent/pacer.h). */
int wq_zbatch_compress_level(uint32_t dict, int max_level, const uint8_t *src, size_t n, uint8_t **out,
                             size_t *outn, wq_err_t *err);

/*  Decompress src[0..n), which must be exactly one zstd frame made with
    dictionary `dict`, into a new malloc'd *out of *outn bytes (caller
    frees; *out is never NULL on success, even for 0 bytes), refusing
    more than cap bytes. err->field is set to `path`.
    Errors: WQ_E_UNKNOWN (dictionary id not held), WQ_E_RANGE (content
    over cap, declared or found while streaming), WQ_E_FORMAT (not a
    zstd frame, corrupt, or made with another dictionary), WQ_E_TRUNCATED
    (the frame is incomplete), WQ_E_TRAILING (bytes after the frame),
    WQ_E_NOMEM. */
int wq_zbatch_decompress(uint32_t dict, const uint8_t *src, size_t n, size_t cap, uint8_t **out,
                         size_t *outn, const char *path, wq_err_t *err);

#endif

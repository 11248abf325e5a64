/*  =========================================================================
    zbatch - zstd compression of a BATCH's records (see zbatch.h)

    The dictionaries are the bytes of proto/dict/records-ID.zdict compiled
    in by proto/embed_dict.cmake (zdict_data.c). A dictionary id is part of
    the protocol: the same id must mean the same bytes in every build, so
    a shipped one is never retrained (scripts/train-zdict).
    =========================================================================
*/
#include "proto/zbatch.h"
#include "common/i18n.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

extern const unsigned char wq_zdict_1[];
extern const size_t wq_zdict_1_len;

typedef struct {
    uint32_t id;
    const unsigned char *data;
    const size_t *len;
} s_dict_t;

/*  Best first. */
static const s_dict_t s_dicts[] = {
    {1, wq_zdict_1, &wq_zdict_1_len},
};
#define S_NDICTS (sizeof s_dicts / sizeof s_dicts[0])

/*  The decoder's window is limited to what a frame of a protocol message
    can need (4 MiB of content): 2^23 bytes. */
#define S_WINDOW_LOG_MAX 23

static const s_dict_t *
s_find(uint32_t id)
{
    for (size_t i = 0; i < S_NDICTS; i++)
        if (s_dicts[i].id == id)
            return &s_dicts[i];
    return NULL;
}

size_t
wq_zbatch_dicts(uint32_t *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < S_NDICTS && n < max; i++)
        ids[n++] = s_dicts[i].id;
    if (n < max)
        ids[n++] = WQ_ZDICT_NONE;
    return n;
}

bool
wq_zbatch_has_dict(uint32_t id)
{
    return id == WQ_ZDICT_NONE || s_find(id) != NULL;
}

bool
wq_zbatch_choose(const uint32_t *offered, size_t n, uint32_t *chosen)
{
    for (size_t i = 0; i < n; i++)
        if (wq_zbatch_has_dict(offered[i])) {
            *chosen = offered[i];
            return true;
        }
    return false;
}

/*  Small batches are what a slow link sends: spend CPU on them. (With
    the dictionary, level 15 gives within 1% of level 19's bytes on a
    batch of generated records, for about two thirds of the time.) */
static int
s_level(size_t n)
{
    if (n <= 256 * 1024)
        return 15;
    if (n <= 1024 * 1024)
        return 9;
    return 3;
}

int
wq_zbatch_compress(uint32_t dict, const uint8_t *src, size_t n, uint8_t **out, size_t *outn,
                   wq_err_t *err)
{
    return wq_zbatch_compress_level(dict, 0, src, n, out, outn, err);
}

int
wq_zbatch_compress_level(uint32_t dict, int max_level, const uint8_t *src, size_t n, uint8_t **out,
                         size_t *outn, wq_err_t *err)
{
    int level = s_level(n);
    if (max_level > 0 && max_level < level)
        level = max_level;
    int rc = WQ_OK;
    const s_dict_t *d = NULL;
    ZSTD_CCtx *cctx = NULL;
    uint8_t *buf = NULL;
    *out = NULL;
    *outn = 0;
    if (dict != WQ_ZDICT_NONE && !(d = s_find(dict))) {
        rc = wq_err_set(err, WQ_E_UNKNOWN, "zbatch.dict",
                        _("no zstd dictionary %u in this build"), (unsigned) dict);
        goto done;
    }
    size_t cap = ZSTD_compressBound(n);
    cctx = ZSTD_createCCtx();
    buf = malloc(cap ? cap : 1);
    if (!cctx || !buf) {
        rc = wq_err_set(err, WQ_E_NOMEM, "zbatch.data", _("out of memory compressing %zu bytes"), n);
        goto done;
    }
    size_t z = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(z))
        z = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(z) && d)
        z = ZSTD_CCtx_loadDictionary(cctx, d->data, *d->len);
    if (!ZSTD_isError(z))
        z = ZSTD_compress2(cctx, buf, cap, src, n);
    if (ZSTD_isError(z)) {
        rc = wq_err_set(err, WQ_E_INTERNAL, "zbatch.data", _("zstd cannot compress %zu bytes: %s"),
                        n, ZSTD_getErrorName(z));
        goto done;
    }
    *out = buf;
    *outn = z;
    buf = NULL;
done:
    free(buf);
    ZSTD_freeCCtx(cctx);
    return rc;
}

/*  A frame without a content size: stream into a buffer that grows up to
    cap and not one byte further. */
static int
s_stream(ZSTD_DCtx *dctx, const uint8_t *src, size_t n, size_t cap, uint8_t **out, size_t *outn,
         const char *path, wq_err_t *err)
{
    size_t size = cap < 65536 ? cap + 1 : 65536;
    uint8_t *buf = malloc(size);
    int rc = WQ_OK;
    ZSTD_inBuffer in = {src, n, 0};
    ZSTD_outBuffer ob = {buf, size, 0};
    if (!buf)
        return wq_err_set(err, WQ_E_NOMEM, path, _("out of memory decompressing"));
    for (;;) {
        size_t z = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(z)) {
            rc = wq_err_set(err, WQ_E_FORMAT, path, _("corrupt zstd frame: %s"),
                            ZSTD_getErrorName(z));
            goto done;
        }
        if (ob.pos > cap) {
            rc = wq_err_set(err, WQ_E_RANGE, path,
                            _("zstd frame decompresses to more than %zu bytes: refused"), cap);
            goto done;
        }
        if (z == 0)
            break;      /* frame complete */
        if (ob.pos == ob.size) {
            size_t bigger = ob.size * 2 > cap + 1 ? cap + 1 : ob.size * 2;
            uint8_t *nb = realloc(buf, bigger);
            if (!nb) {
                rc = wq_err_set(err, WQ_E_NOMEM, path, _("out of memory decompressing"));
                goto done;
            }
            buf = nb;
            ob.dst = buf;
            ob.size = bigger;
        } else if (in.pos == in.size) {
            rc = wq_err_set(err, WQ_E_TRUNCATED, path, _("the zstd frame is incomplete"));
            goto done;
        }
    }
    *out = buf;
    *outn = ob.pos;
    buf = NULL;
done:
    free(buf);
    return rc;
}

int
wq_zbatch_decompress(uint32_t dict, const uint8_t *src, size_t n, size_t cap, uint8_t **out,
                     size_t *outn, const char *path, wq_err_t *err)
{
    int rc = WQ_OK;
    const s_dict_t *d = NULL;
    ZSTD_DCtx *dctx = NULL;
    uint8_t *buf = NULL;
    *out = NULL;
    *outn = 0;
    if (dict != WQ_ZDICT_NONE && !(d = s_find(dict)))
        return wq_err_set(err, WQ_E_UNKNOWN, path, _("no zstd dictionary %u in this build"),
                          (unsigned) dict);
    /* One whole frame, nothing after it; its size declared within cap. */
    size_t fsize = ZSTD_findFrameCompressedSize(src, n);
    if (ZSTD_isError(fsize)) {
        if (n >= 4 && ((uint32_t) src[0] | (uint32_t) src[1] << 8 | (uint32_t) src[2] << 16 |
                       (uint32_t) src[3] << 24) == ZSTD_MAGICNUMBER)
            return wq_err_set(err, WQ_E_TRUNCATED, path, _("the zstd frame is incomplete (%s)"),
                              ZSTD_getErrorName(fsize));
        return wq_err_set(err, WQ_E_FORMAT, path, _("not a zstd frame (%s)"),
                          ZSTD_getErrorName(fsize));
    }
    if (fsize != n)
        return wq_err_set(err, WQ_E_TRAILING, path, _("%zu bytes after the zstd frame"), n - fsize);
    unsigned frame_dict = ZSTD_getDictID_fromFrame(src, n);
    if (frame_dict != 0 && frame_dict != dict)
        return wq_err_set(err, WQ_E_FORMAT, path,
                          _("zstd frame made with dictionary %u, the message says %u"), frame_dict,
                          (unsigned) dict);
    unsigned long long content = ZSTD_getFrameContentSize(src, n);
    if (content == ZSTD_CONTENTSIZE_ERROR)
        return wq_err_set(err, WQ_E_FORMAT, path, _("not a zstd frame"));
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content > cap)
        return wq_err_set(err, WQ_E_RANGE, path,
                          _("zstd frame declares %llu bytes of content, at most %zu: refused"),
                          content, cap);
    dctx = ZSTD_createDCtx();
    if (!dctx)
        return wq_err_set(err, WQ_E_NOMEM, path, _("out of memory for a zstd context"));
    size_t z = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, S_WINDOW_LOG_MAX);
    if (!ZSTD_isError(z) && d)
        z = ZSTD_DCtx_loadDictionary(dctx, d->data, *d->len);
    if (ZSTD_isError(z)) {
        rc = wq_err_set(err, WQ_E_INTERNAL, path, _("zstd: %s"), ZSTD_getErrorName(z));
        goto done;
    }
    if (content == ZSTD_CONTENTSIZE_UNKNOWN) {
        rc = s_stream(dctx, src, n, cap, out, outn, path, err);
        goto done;
    }
    buf = malloc(content ? (size_t) content : 1);
    if (!buf) {
        rc = wq_err_set(err, WQ_E_NOMEM, path, _("out of memory for %llu bytes"), content);
        goto done;
    }
    z = ZSTD_decompressDCtx(dctx, buf, (size_t) content, src, n);
    if (ZSTD_isError(z) || z != content) {
        rc = wq_err_set(err, WQ_E_FORMAT, path, _("corrupt zstd frame: %s"),
                        ZSTD_isError(z) ? ZSTD_getErrorName(z) : "content size mismatch");
        goto done;
    }
    *out = buf;
    *outn = (size_t) content;
    buf = NULL;
done:
    free(buf);
    ZSTD_freeDCtx(dctx);
    return rc;
}

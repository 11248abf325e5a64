/*  assets - lookup in a compiled-in table of web files (see assets.h). */
#include "web/assets.h"

#include <string.h>

const wq_asset_t *wq_assets_find(const wq_asset_t *items, size_t count, const char *path)
{
    for (size_t i = 0; items && i < count; i++)
        if (strcmp(items[i].path, path) == 0)
            return &items[i];
    return NULL;
}

const char *wq_assets_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/*  =========================================================================
    assets - web page files compiled into the program

    Pages, style sheets and scripts live in the source tree (e.g.
    collector/web/) and are compiled in by web/embed_assets.cmake (the
    CMake function wq_web_embed_assets, see web/CMakeLists.txt), so a
    program needs no files beside it and nothing from the network. Chart.js
    is embedded the same way from Debian's libjs-chart.js at build time
    (never copied into the repository). The server answers GET /static/...
    from such a table.
    =========================================================================
*/
#ifndef WQ_ASSETS_H_INCLUDED
#define WQ_ASSETS_H_INCLUDED

#include <stddef.h>

typedef struct {
    const char *path;                /* URL path under /static/, e.g. "app.js" */
    const unsigned char *data;
    size_t len;
} wq_asset_t;

/*  The asset with this path in items[0..count), or NULL. */
const wq_asset_t *wq_assets_find(const wq_asset_t *items, size_t count, const char *path);

/*  Content type for a path by its extension ("text/html; charset=utf-8",
    "text/javascript; charset=utf-8", "text/css; charset=utf-8",
    "image/png", "image/svg+xml", "application/json"); default
    "application/octet-stream". */
const char *wq_assets_type(const char *path);

#endif

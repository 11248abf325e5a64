/*  =========================================================================
    serve - `wanqi-agent serve`: the county workbench, a web page on the
    agent's own outbox

    An HTTP server (the shared web layer web/server.h on libmicrohttpd, one
    thread, so every LMDB call happens on one thread) that serves the
    workbench's pages, embedded in the binary (agent/www/), and a small
    JSON API answered from agent/workbench.c. It runs beside `wanqi-agent run` on the same outbox:
    pages read in short read transactions, and each accepted record is one
    short write transaction (wq_outbox_append), so neither blocks the other
    for long. Routes, the CSRF rule and the listen rules: docs/WEB.md.
    =========================================================================
*/
#ifndef WQ_AGENT_SERVE_H_INCLUDED
#define WQ_AGENT_SERVE_H_INCLUDED

#define WQ_SERVE_DEFAULT_LISTEN "127.0.0.1:8470"

/*  The `serve` command: argv are its arguments (after "serve", without
    --dir), dir the data directory. Runs until SIGINT/SIGTERM. Returns the
    process exit status (0, 1 failure, 2 usage). */
int wq_serve_cmd(int argc, char **argv, const char *dir);

/*  The `user` command (add / passwd / remove / list the workbench's
    accounts in DIR/web-accounts). Same conventions as wq_serve_cmd. */
int wq_user_cmd(int argc, char **argv, const char *dir);

#endif

/*  =========================================================================
    peers - the collector's authorized-peers file

    Who may talk to the collector, and as what. One line per peer; blank
    lines and lines whose first non-blank character is '#' are comments
    (a '#' inside a line is NOT a comment: Z85 keys may contain '#'):

        # kind   public key (Z85, 40 chars)                agent id    county
        agent    rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7  130102-01   130102
        # kind   public key                                name
        client   Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID  province-staff

    Fields are separated by spaces or tabs. An agent line binds a CURVE
    public key to an agent id (wq_agent_id_check) and the county-level
    division it records for (wq_division_check_county); a client line
    binds a key to a name (1..64 of [A-Za-z0-9_.@-]) for query clients.
    A key appears at most once in the file, and so does an agent id.

    The collector identifies every sender by the CURVE key the handshake
    proved (ZMQ "User-Id"), looks it up here, and from then on trusts only
    what this file says: the agent id and county, never the message body.
    =========================================================================
*/
#ifndef WQ_PEERS_H_INCLUDED
#define WQ_PEERS_H_INCLUDED

#include <stddef.h>
#include "common/error.h"
#include "common/record.h"

#define WQ_KEY_Z85_LEN 40           /* a CURVE public key in Z85 */
#define WQ_PEER_NAME_MAX 64

typedef enum { WQ_PEER_AGENT = 1, WQ_PEER_CLIENT = 2 } wq_peer_kind_t;

typedef struct {
    wq_peer_kind_t kind;
    char key[WQ_KEY_Z85_LEN + 1];   /* Z85 public key */
    char id[WQ_PEER_NAME_MAX + 1];  /* agent id (agent) or name (client) */
    char county[7];                 /* agent: its county code; client: "" */
    int line;                       /* line in the file (1-based), 0 if not from a file */
} wq_peer_t;

typedef struct wq_peers_t wq_peers_t;

/*  Read the peers file at path. A missing file is an empty list (a fresh
    collector authorizes no one). On success *out is new (destroy with
    wq_peers_destroy). Errors: WQ_E_IO (cannot read; text names the path),
    WQ_E_CONFIG (a bad line: text gives path, line number and why, e.g. an
    unknown county or a duplicate key; or the file is writable by group or
    others), WQ_E_NOMEM. */
int wq_peers_load(const char *path, wq_peers_t **out, wq_err_t *err);

/*  Free; sets *self to NULL; safe on NULL. */
void wq_peers_destroy(wq_peers_t **self);

size_t wq_peers_count(const wq_peers_t *self);
/*  Peer at index i (file order), or NULL past the end. */
const wq_peer_t *wq_peers_at(const wq_peers_t *self, size_t i);
/*  Peer with this Z85 public key, or NULL. */
const wq_peer_t *wq_peers_find_key(const wq_peers_t *self, const char *key);
/*  Agent peer with this agent id, or NULL. */
const wq_peer_t *wq_peers_find_agent(const wq_peers_t *self, const char *agent);

/*  Check one peer's fields: key is 40 Z85 characters that decode, agent
    id syntax and county-level code (known today or in 2019), client name
    syntax. Returns WQ_OK or WQ_E_FORMAT / WQ_E_COUNTY with err->field set. */
int wq_peer_check(const wq_peer_t *peer, wq_err_t *err);

/*  Append peer to the file at path (created 0600 with a commented header
    if absent), under an exclusive lock, refusing a key or an agent id (or
    client name) already present; the line is fsync'ed before return.
    Errors: WQ_E_FORMAT / WQ_E_COUNTY (bad peer), WQ_E_DUPFIELD (already
    there: text names the line), WQ_E_CONFIG (file unreadable as peers),
    WQ_E_IO. */
int wq_peers_append(const char *path, const wq_peer_t *peer, wq_err_t *err);

/*  Write a new peers file with just the commented header (0600). Refuses
    to overwrite an existing file (WQ_E_IO). */
int wq_peers_create(const char *path, wq_err_t *err);

#endif

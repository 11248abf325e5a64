/*  fuzz_wire - libFuzzer target: the wire decoder (proto/msg.c).

    Any byte string is one ZeroMQ frame from a peer. The decoder must return
    a message or an error, never read past the input, never leak; a decoded
    message must re-encode (the encoder checks the limits the decoder
    enforces) and decode again to the same bytes.  */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wq_msg_t *msg = NULL, *again = NULL;
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t n = 0, n2 = 0;
    wq_err_t err;
    if (wq_msg_decode(data, size, &msg, &err) != WQ_OK)
        return 0;
    if (wq_msg_encode(msg, &buf, &n, &err) != WQ_OK)
        abort();    /* the decoder accepted what the encoder refuses */
    if (wq_msg_decode(buf, n, &again, &err) != WQ_OK)
        abort();    /* our own encoding does not decode */
    if (wq_msg_encode(again, &buf2, &n2, &err) != WQ_OK || n2 != n || memcmp(buf, buf2, n) != 0)
        abort();    /* not canonical after one round */
    free(buf);
    free(buf2);
    wq_msg_destroy(&msg);
    wq_msg_destroy(&again);
    return 0;
}

/* libFuzzer harness: the handshake state machine, both roles, fed frames
 * cut from the input. Whatever arrives, a session either completes with
 * the right key or fails; it never authenticates a peer that did not
 * prove the key (the fuzzer cannot produce an HMAC under the test key
 * except by replaying the one this harness computes, which it never
 * shows), and it never crashes or leaks. */
#include <assert.h>

#include "ds.h"

static const uint8_t KEY[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz!";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int role = data[0] & 1 ? DS_HS_SERVER : DS_HS_CLIENT;
    data++, size--;
    ds_hs_t hs;
    ds_hs_init(&hs, role, KEY, sizeof KEY);
    uint8_t out[DS_HDR + DS_SHELLO_LEN];
    if (role == DS_HS_CLIENT) ds_hs_client_hello(&hs, 1, 1, out);
    size_t off = 0;
    while (off < size && hs.state != DS_HS_FAILED && hs.state != DS_HS_DONE) {
        unsigned allowed = role == DS_HS_SERVER
                               ? (hs.state == DS_HS_START ? DS_TYPE_BIT(DS_T_HELLO) : DS_TYPE_BIT(DS_T_CLIENT_PROOF))
                               : DS_TYPE_BIT(DS_T_SERVER_HELLO) | DS_TYPE_BIT(DS_T_REFUSE);
        ds_frame_t f;
        int why, refuse;
        if (ds_frame_decode(data + off, size - off, allowed, DS_FRAME_MAX, &f, &why) != DS_FRAME) break;
        off += f.size;
        int rc;
        if (role == DS_HS_SERVER)
            rc = hs.state == DS_HS_START ? ds_hs_server_hello(&hs, &f, out, &refuse)
                                         : ds_hs_server_finish(&hs, &f);
        else if (f.type == DS_T_REFUSE)
            break;
        else
            rc = ds_hs_client_finish(&hs, &f, out);
        /* a server can only be done after a proof made with the key: the
         * fuzzer never saw this session's SERVER_HELLO nonce in advance */
        assert(!(role == DS_HS_SERVER && rc == 0 && hs.state == DS_HS_DONE));
        /* a client can only be done if the fuzzer forged an HMAC: never */
        assert(!(role == DS_HS_CLIENT && rc == 0 && hs.state == DS_HS_DONE));
    }
    ds_hs_clear(&hs);
    return 0;
}

/* libFuzzer harness: the frame decoder and the record decoders, fed any
 * bytes, in every connection state's rules. They must never read out of
 * bounds, never allocate, and every frame they accept must lie inside the
 * input with a length within the limit. */
#include <assert.h>

#include "ds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const unsigned rules[] = {DS_TYPE_BIT(DS_T_HELLO), DS_TYPE_BIT(DS_T_CLIENT_PROOF),
                                     DS_TYPE_BIT(DS_T_SERVER_HELLO) | DS_TYPE_BIT(DS_T_REFUSE),
                                     DS_TYPE_BIT(DS_T_SEALED)};
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        size_t off = 0;
        while (off < size) {
            ds_frame_t f;
            int why = 0;
            int rc = ds_frame_decode(data + off, size - off, rules[k], DS_FRAME_MAX, &f, &why);
            if (rc != DS_FRAME) break;
            assert(f.size <= size - off && f.size == DS_HDR + (size_t)f.len);
            assert(f.type != DS_T_SEALED || f.len - DS_TAG <= DS_FRAME_MAX);
            off += f.size;
        }
    }
    /* the bytes as the plaintext of a sealed frame: records */
    const uint8_t *p = data, *end = data + size;
    ds_rec_t r;
    while (ds_rec_next(&p, end, &r) == 1) {
        ds_task_rec_t t;
        ds_result_rec_t rr;
        ds_chunk_rec_t c;
        uint64_t id, v;
        uint32_t a, w;
        uint8_t reason;
        char text[300];
        switch (r.kind) {
        case DS_R_TASK:
            if (ds_task_decode(&r, &t) == 0) {
                assert(t.n <= t.total && t.name_len >= 1);
                if (t.inputs && !t.more) { /* the input frame, as a node reads it */
                    const uint8_t *arg, **ptrs;
                    size_t alen, ni, *lens;
                    if (ds_inputs_decode(t.data, t.n, &arg, &alen, &ni, &ptrs, &lens) == 0) {
                        size_t sum = alen;
                        for (size_t i = 0; i < ni; i++) {
                            assert(ptrs[i] >= t.data && ptrs[i] + lens[i] <= t.data + t.n);
                            sum += lens[i];
                        }
                        assert(arg >= t.data && arg + alen <= t.data + t.n && sum <= t.n);
                        wf_free(ptrs);
                        wf_free(lens);
                    }
                }
            }
            break;
        case DS_R_PONG: ds_pong_decode(&r, &id, &v); break;
        case DS_R_RESULT:
            if (ds_result_decode(&r, &rr) == 0) assert(rr.n <= rr.total);
            break;
        case DS_R_CHUNK: ds_chunk_decode(&r, &c); break;
        case DS_R_CANCEL: ds_idatt_decode(&r, &id, &a); break;
        case DS_R_CREDIT: ds_u32_decode(&r, &w); break;
        case DS_R_INFO: ds_info_decode(&r, &w, &v); break;
        case DS_R_GOODBYE: ds_bye_decode(&r, &reason, text, sizeof text); break;
        default: ds_u64_decode(&r, &v); break;
        }
    }
    return 0;
}

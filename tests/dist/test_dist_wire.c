/* test_dist_wire: dist's pure wire code, no sockets: the incremental frame
 * decoder, records, the handshake (good, wrong key both ways, replayed,
 * another version, low-order keys), sealing (replayed, reordered,
 * truncated, altered, oversized frames), key files, node strings, the map. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ds.h"

static const uint8_t KEY_A[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t KEY_B[32] = "0123456789abcdef0123456789abcdeX";

/* ------------------------------------------------------------------ */

START_TEST(decoder_incremental) {
    uint8_t fr[DS_HDR + DS_HELLO_LEN];
    memset(fr, 0, sizeof fr);
    ds_frame_header(fr, DS_T_HELLO, DS_HELLO_LEN);
    ds_frame_t f;
    int why;
    for (size_t n = 0; n < sizeof fr; n++)
        ck_assert_int_eq(ds_frame_decode(fr, n, DS_TYPE_BIT(DS_T_HELLO), DS_FRAME_MAX, &f, &why), DS_NEED);
    ck_assert_int_eq(ds_frame_decode(fr, sizeof fr, DS_TYPE_BIT(DS_T_HELLO), DS_FRAME_MAX, &f, &why), DS_FRAME);
    ck_assert_uint_eq(f.size, sizeof fr);
    ck_assert_uint_eq(f.type, DS_T_HELLO);
    ck_assert_ptr_eq(f.body, fr + DS_HDR);
    /* garbage is refused on its first byte */
    uint8_t g = 'G';
    ck_assert_int_eq(ds_frame_decode(&g, 1, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    ck_assert_int_eq(why, DS_WHY_MALFORMED);
    uint8_t h[DS_HDR];
    memcpy(h, fr, DS_HDR);
    h[1] = 0;
    ck_assert_int_eq(ds_frame_decode(h, 2, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    memcpy(h, fr, DS_HDR);
    h[2] = 2; /* another version */
    ck_assert_int_eq(ds_frame_decode(h, 3, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    ck_assert_int_eq(why, DS_WHY_VERSION);
    memcpy(h, fr, DS_HDR);
    ck_assert_int_eq(ds_frame_decode(h, 4, DS_TYPE_BIT(DS_T_SEALED), DS_FRAME_MAX, &f, &why), DS_ERROR);
    ck_assert_int_eq(why, DS_WHY_TYPE);
    h[3] = 9;
    ck_assert_int_eq(ds_frame_decode(h, 4, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    memcpy(h, fr, DS_HDR);
    h[4] = 1; /* flags */
    ck_assert_int_eq(ds_frame_decode(h, 5, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    memcpy(h, fr, DS_HDR);
    h[7] = 1; /* reserved */
    ck_assert_int_eq(ds_frame_decode(h, 8, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    /* a handshake frame must have its exact length, judged on the header */
    ds_frame_header(h, DS_T_HELLO, DS_HELLO_LEN + 1);
    ck_assert_int_eq(ds_frame_decode(h, DS_HDR, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    ck_assert_int_eq(why, DS_WHY_TOO_BIG);
    ds_frame_header(h, DS_T_HELLO, 0xffffffffu);
    ck_assert_int_eq(ds_frame_decode(h, DS_HDR, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    /* an oversized sealed frame is refused before its body arrives */
    ds_frame_header(h, DS_T_SEALED, DS_FRAME_MAX + DS_TAG + 1);
    ck_assert_int_eq(ds_frame_decode(h, DS_HDR, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    ck_assert_int_eq(why, DS_WHY_TOO_BIG);
    ds_frame_header(h, DS_T_SEALED, DS_TAG - 1);
    ck_assert_int_eq(ds_frame_decode(h, DS_HDR, ~0u, DS_FRAME_MAX, &f, &why), DS_ERROR);
    ds_frame_header(h, DS_T_SEALED, DS_FRAME_MAX + DS_TAG);
    ck_assert_int_eq(ds_frame_decode(h, DS_HDR, ~0u, DS_FRAME_MAX, &f, &why), DS_NEED);
    ck_assert_uint_eq(ds_frame_need(h, DS_HDR), DS_HDR + DS_FRAME_MAX + DS_TAG);
}
END_TEST

START_TEST(records_roundtrip) {
    ds_buf_t b = {0};
    ck_assert_int_eq(ds_put_task(&b, 7, 2, "weft.echo", 9, 5, "hello", 5, 0), 0);
    ck_assert_int_eq(ds_put_task(&b, 8, 1, "t", 1, 1000, "abc", 3, 1), 0);
    ck_assert_int_eq(ds_put_chunk(&b, 8, 1, 3, "defg", 4, 0), 0);
    ck_assert_int_eq(ds_put_result(&b, 7, 2, DS_OUT_FAILED, -5, 123456, 0, NULL, 0, 0), 0);
    ck_assert_int_eq(ds_put_idatt(&b, DS_R_CANCEL, 9, 3), 0);
    ck_assert_int_eq(ds_put_u32(&b, DS_R_CREDIT, 512), 0);
    ck_assert_int_eq(ds_put_u64(&b, DS_R_PING, 0x0102030405060708ull), 0);
    ck_assert_int_eq(ds_put_info(&b, 4, 1ull << 30), 0);
    ck_assert_int_eq(ds_put_bye(&b, DS_BYE_PROTOCOL, "bad\x01thing"), 0);
    const uint8_t *p = b.p, *end = b.p + b.len;
    ds_rec_t r;
    ds_task_rec_t t;
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_task_decode(&r, &t), 0);
    ck_assert_uint_eq(t.id, 7);
    ck_assert_uint_eq(t.attempt, 2);
    ck_assert_uint_eq(t.name_len, 9);
    ck_assert_int_eq(memcmp(t.name, "weft.echo", 9), 0);
    ck_assert_uint_eq(t.total, 5);
    ck_assert_int_eq(memcmp(t.data, "hello", 5), 0);
    ck_assert_int_eq(t.more, 0);
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_task_decode(&r, &t), 0);
    ck_assert_int_eq(t.more, 1);
    ck_assert_uint_eq(t.total, 1000);
    ds_chunk_rec_t cr;
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_chunk_decode(&r, &cr), 0);
    ck_assert_uint_eq(cr.offset, 3);
    ck_assert_uint_eq(cr.n, 4);
    ck_assert_int_eq(cr.last, 0);
    ds_result_rec_t rr;
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_result_decode(&r, &rr), 0);
    ck_assert_int_eq(rr.code, -5);
    ck_assert_uint_eq(rr.run_ns, 123456);
    ck_assert_uint_eq(rr.outcome, DS_OUT_FAILED);
    uint64_t id, v64;
    uint32_t att, v32;
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_idatt_decode(&r, &id, &att), 0);
    ck_assert_uint_eq(id, 9);
    ck_assert_uint_eq(att, 3);
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_u32_decode(&r, &v32), 0);
    ck_assert_uint_eq(v32, 512);
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    ck_assert_int_eq(ds_u64_decode(&r, &v64), 0);
    ck_assert_uint_eq(v64, 0x0102030405060708ull);
    uint8_t wire[8];
    memcpy(wire, r.p, 8); /* big-endian on the wire */
    ck_assert_uint_eq(wire[0], 1);
    ck_assert_uint_eq(wire[7], 8);
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    uint64_t mb;
    ck_assert_int_eq(ds_info_decode(&r, &v32, &mb), 0);
    ck_assert_uint_eq(v32, 4);
    ck_assert_uint_eq(mb, 1ull << 30);
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 1);
    uint8_t reason;
    char text[300];
    ck_assert_int_eq(ds_bye_decode(&r, &reason, text, sizeof text), 0);
    ck_assert_uint_eq(reason, DS_BYE_PROTOCOL);
    ck_assert_str_eq(text, "bad?thing");
    ck_assert_int_eq(ds_rec_next(&p, end, &r), 0);
    /* a record that runs past the end */
    p = b.p;
    ck_assert_int_eq(ds_rec_next(&p, b.p + 10, &r), DS_ERROR);
    p = b.p;
    ck_assert_int_eq(ds_rec_next(&p, b.p + 3, &r), DS_ERROR);
    ds_buf_free(&b);
}
END_TEST

START_TEST(records_refused) {
    ds_buf_t b = {0};
    ds_rec_t r;
    ds_task_rec_t t;
    const uint8_t *p;
    /* name with a blank, empty name, id 0, total < bytes, total > bytes w/o MORE */
    const struct { const char *name; size_t nl; uint64_t id, total; size_t n; int more; } bad[] = {
        {"a b", 3, 1, 0, 0, 0}, {"", 0, 1, 0, 0, 0}, {"x", 1, 0, 0, 0, 0},
        {"x", 1, 1, 2, 3, 0},   {"x", 1, 1, 4, 3, 0}, {"x", 1, 1, 3, 3, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.len = 0;
        ck_assert_int_eq(ds_put_task(&b, bad[i].id, 1, bad[i].name, bad[i].nl, bad[i].total, "abc", bad[i].n, bad[i].more), 0);
        p = b.p;
        ck_assert_int_eq(ds_rec_next(&p, b.p + b.len, &r), 1);
        ck_assert_msg(ds_task_decode(&r, &t) == DS_ERROR, "bad task %zu accepted", i);
    }
    /* flags that are not defined */
    b.len = 0;
    ds_put_task(&b, 1, 1, "x", 1, 0, NULL, 0, 0);
    b.p[1] = 0x80;
    p = b.p;
    ds_rec_next(&p, b.p + b.len, &r);
    ck_assert_int_eq(ds_task_decode(&r, &t), DS_ERROR);
    /* a name length past the record */
    b.len = 0;
    ds_put_task(&b, 1, 1, "x", 1, 0, NULL, 0, 0);
    ds_put16(b.p + DS_REC_HDR + 14, 500);
    p = b.p;
    ds_rec_next(&p, b.p + b.len, &r);
    ck_assert_int_eq(ds_task_decode(&r, &t), DS_ERROR);
    /* wrong sizes */
    b.len = 0;
    ds_put_u32(&b, DS_R_PING, 5);
    p = b.p;
    ds_rec_next(&p, b.p + b.len, &r);
    uint64_t v;
    ck_assert_int_eq(ds_u64_decode(&r, &v), DS_ERROR);
    ds_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Handshake                                                           */

typedef struct pair {
    ds_hs_t c, s;
    uint8_t hello[DS_HDR + DS_HELLO_LEN], shello[DS_HDR + DS_SHELLO_LEN], proof[DS_HDR + DS_PROOF_LEN];
} pair_t;

static ds_frame_t frame_of(const uint8_t *p, size_t n) {
    ds_frame_t f;
    int why;
    ck_assert_int_eq(ds_frame_decode(p, n, ~0u, DS_FRAME_MAX, &f, &why), DS_FRAME);
    return f;
}

/* Runs the handshake; returns the first failing step's code. */
static int handshake(pair_t *x, const uint8_t *ck, const uint8_t *sk) {
    ds_hs_init(&x->c, DS_HS_CLIENT, ck, 32);
    ds_hs_init(&x->s, DS_HS_SERVER, sk, 32);
    int rc = ds_hs_client_hello(&x->c, 1, 1, x->hello);
    if (rc) return rc;
    ds_frame_t f = frame_of(x->hello, sizeof x->hello);
    int refuse;
    if ((rc = ds_hs_server_hello(&x->s, &f, x->shello, &refuse))) return rc;
    f = frame_of(x->shello, sizeof x->shello);
    if ((rc = ds_hs_client_finish(&x->c, &f, x->proof))) return rc;
    f = frame_of(x->proof, sizeof x->proof);
    return ds_hs_server_finish(&x->s, &f);
}

START_TEST(handshake_and_sealing) {
    pair_t x;
    ck_assert_int_eq(handshake(&x, KEY_A, KEY_A), 0);
    ds_aead_t ctx, crx, stx, srx;
    ck_assert_int_eq(ds_hs_split(&x.c, &ctx, &crx), 0);
    ck_assert_int_eq(ds_hs_split(&x.s, &stx, &srx), 0);
    /* the handshake state holds no secret any more */
    static const uint8_t zero[32];
    ck_assert_int_eq(memcmp(x.c.ka, zero, 32), 0);
    ck_assert_int_eq(memcmp(x.c.kcs, zero, 32), 0);
    ck_assert_int_eq(memcmp(x.s.psk, zero, 32), 0);
    uint8_t fr[3][DS_HDR + 64 + DS_TAG], body[64 + DS_TAG];
    const char *msg[3] = {"first frame", "second frame", "third"};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ds_seal(&ctx, (const uint8_t *)msg[i], strlen(msg[i]), fr[i]), 0);
    /* the ciphertext does not show the plaintext */
    ck_assert_ptr_null(memmem(fr[0], sizeof fr[0], "first", 5));
    /* reordered: frame 2 before frame 1 does not open */
    ds_frame_t f = frame_of(fr[1], DS_HDR + strlen(msg[1]) + DS_TAG);
    memcpy(body, f.body, f.len);
    ds_frame_t fc = f;
    fc.body = body;
    ck_assert_int_eq(ds_open(&srx, &fc, body), WEFT_EAUTH);
    /* in order they open */
    for (int i = 0; i < 3; i++) {
        f = frame_of(fr[i], DS_HDR + strlen(msg[i]) + DS_TAG);
        memcpy(body, f.body, f.len);
        fc = f;
        fc.body = body;
        ck_assert_int_eq(ds_open(&srx, &fc, body), 0);
        ck_assert_int_eq(memcmp(body, msg[i], strlen(msg[i])), 0);
    }
    /* replayed: frame 3 again does not open */
    f = frame_of(fr[2], DS_HDR + strlen(msg[2]) + DS_TAG);
    memcpy(body, f.body, f.len);
    fc = f;
    fc.body = body;
    ck_assert_int_eq(ds_open(&srx, &fc, body), WEFT_EAUTH);
    /* the other direction, and a client cannot open its own frames */
    uint8_t back[DS_HDR + 5 + DS_TAG];
    ck_assert_int_eq(ds_seal(&stx, (const uint8_t *)"hello", 5, back), 0);
    f = frame_of(back, sizeof back);
    uint8_t bb[5 + DS_TAG];
    memcpy(bb, f.body, f.len);
    fc = f;
    fc.body = bb;
    ck_assert_int_eq(ds_open(&crx, &fc, bb), 0);
    ck_assert_int_eq(memcmp(bb, "hello", 5), 0);
    /* altered: every single byte flipped, header included, fails */
    uint8_t z[DS_HDR + 20 + DS_TAG];
    for (size_t pos = 0; pos < sizeof z; pos++) {
        ds_aead_t t2, r2;
        pair_t y;
        ck_assert_int_eq(handshake(&y, KEY_A, KEY_A), 0);
        ds_hs_split(&y.c, &t2, &r2);
        ds_aead_t st2, sr2;
        ds_hs_split(&y.s, &st2, &sr2);
        ck_assert_int_eq(ds_seal(&t2, (const uint8_t *)"twenty bytes of text", 20, z), 0);
        z[pos] ^= 0x01;
        ds_frame_t g;
        int why;
        int d = ds_frame_decode(z, sizeof z, ~0u, DS_FRAME_MAX, &g, &why);
        if (d == DS_FRAME) {
            uint8_t zb[20 + DS_TAG];
            memcpy(zb, g.body, g.len);
            g.body = zb;
            ck_assert_msg(ds_open(&sr2, &g, zb) == WEFT_EAUTH, "flip at %zu opened", pos);
        } else {
            ck_assert_msg(d != DS_FRAME, "flip at %zu", pos); /* refused by the decoder */
        }
        ds_aead_free(&t2);
        ds_aead_free(&r2);
        ds_aead_free(&st2);
        ds_aead_free(&sr2);
    }
    /* truncated: a shorter length field does not open */
    ck_assert_int_eq(ds_seal(&ctx, (const uint8_t *)"0123456789", 10, fr[0]), 0);
    ds_put32(fr[0] + 8, 10 + DS_TAG - 1);
    f = frame_of(fr[0], DS_HDR + 10 + DS_TAG - 1);
    memcpy(body, f.body, f.len);
    fc = f;
    fc.body = body;
    ck_assert_int_eq(ds_open(&srx, &fc, body), WEFT_EAUTH);
    ds_aead_free(&ctx);
    ds_aead_free(&crx);
    ds_aead_free(&stx);
    ds_aead_free(&srx);
}
END_TEST

START_TEST(handshake_wrong_key_both_ways) {
    pair_t x;
    /* the client checks the server's proof first: a server without the
     * key is found before the client sends anything more */
    ck_assert_int_eq(handshake(&x, KEY_A, KEY_B), WEFT_EAUTH);
    ck_assert_int_eq(x.c.state, DS_HS_FAILED);
    ck_assert_int_eq(x.s.state, DS_HS_WAIT_PROOF); /* it never got a proof */
    ds_hs_clear(&x.c);
    ds_hs_clear(&x.s);
    ck_assert_int_eq(handshake(&x, KEY_B, KEY_A), WEFT_EAUTH);
    ds_hs_clear(&x.c);
    ds_hs_clear(&x.s);
    /* a client without the key cannot forge a proof the server accepts */
    ds_hs_t s;
    ds_hs_init(&s, DS_HS_SERVER, KEY_A, 32);
    ds_hs_t c;
    ds_hs_init(&c, DS_HS_CLIENT, KEY_B, 32);
    uint8_t hello[DS_HDR + DS_HELLO_LEN], sh[DS_HDR + DS_SHELLO_LEN], proof[DS_HDR + DS_PROOF_LEN];
    ds_hs_client_hello(&c, 1, 1, hello);
    ds_frame_t f = frame_of(hello, sizeof hello);
    int refuse;
    ck_assert_int_eq(ds_hs_server_hello(&s, &f, sh, &refuse), 0);
    ds_frame_header(proof, DS_T_CLIENT_PROOF, DS_PROOF_LEN);
    memset(proof + DS_HDR, 0x5a, DS_PROOF_LEN);
    f = frame_of(proof, sizeof proof);
    ck_assert_int_eq(ds_hs_server_finish(&s, &f), WEFT_EAUTH);
    ck_assert_int_eq(s.state, DS_HS_FAILED);
    ds_hs_clear(&s);
    ds_hs_clear(&c);
}
END_TEST

START_TEST(handshake_replayed) {
    pair_t x;
    ck_assert_int_eq(handshake(&x, KEY_A, KEY_A), 0);
    ds_hs_clear(&x.c);
    ds_hs_clear(&x.s);
    /* replaying the client's HELLO and proof to a new server session fails */
    ds_hs_t s;
    ds_hs_init(&s, DS_HS_SERVER, KEY_A, 32);
    uint8_t sh[DS_HDR + DS_SHELLO_LEN];
    ds_frame_t f = frame_of(x.hello, sizeof x.hello);
    int refuse;
    ck_assert_int_eq(ds_hs_server_hello(&s, &f, sh, &refuse), 0);
    f = frame_of(x.proof, sizeof x.proof);
    ck_assert_int_eq(ds_hs_server_finish(&s, &f), WEFT_EAUTH);
    ds_hs_clear(&s);
    /* replaying the server's answer to a new client session fails */
    ds_hs_t c;
    ds_hs_init(&c, DS_HS_CLIENT, KEY_A, 32);
    uint8_t hello[DS_HDR + DS_HELLO_LEN], proof[DS_HDR + DS_PROOF_LEN];
    ds_hs_client_hello(&c, 1, 1, hello);
    f = frame_of(x.shello, sizeof x.shello);
    ck_assert_int_eq(ds_hs_client_finish(&c, &f, proof), WEFT_EAUTH);
    ds_hs_clear(&c);
    /* steps out of order are refused */
    ds_hs_init(&s, DS_HS_SERVER, KEY_A, 32);
    f = frame_of(x.proof, sizeof x.proof);
    ck_assert_int_eq(ds_hs_server_finish(&s, &f), WEFT_EINVAL);
    ds_hs_clear(&s);
}
END_TEST

START_TEST(handshake_versions_and_bad_keys) {
    ds_hs_t c, s;
    ds_hs_init(&c, DS_HS_CLIENT, KEY_A, 32);
    ds_hs_init(&s, DS_HS_SERVER, KEY_A, 32);
    uint8_t hello[DS_HDR + DS_HELLO_LEN], out[DS_HDR + DS_SHELLO_LEN];
    ck_assert_int_eq(ds_hs_client_hello(&c, 2, 3, hello), 0);
    ds_frame_t f = frame_of(hello, sizeof hello);
    int refuse = 0;
    ck_assert_int_eq(ds_hs_server_hello(&s, &f, out, &refuse), WEFT_EPROTO);
    ck_assert_int_eq(refuse, DS_REFUSE_VERSION);
    f = frame_of(out, DS_HDR + DS_REFUSE_LEN);
    ck_assert_uint_eq(f.type, DS_T_REFUSE);
    ck_assert_uint_eq(f.body[0], DS_REFUSE_VERSION);
    ck_assert_uint_eq(f.body[1], 1);
    ck_assert_uint_eq(f.body[2], 1);
    ds_hs_clear(&c);
    ds_hs_clear(&s);
    /* a low-order public key (all zeros) is refused */
    ds_hs_init(&s, DS_HS_SERVER, KEY_A, 32);
    memset(hello + DS_HDR, 0, DS_HELLO_LEN);
    hello[DS_HDR + 64] = 1;
    hello[DS_HDR + 65] = 1;
    f = frame_of(hello, sizeof hello);
    ck_assert_int_eq(ds_hs_server_hello(&s, &f, out, &refuse), WEFT_EPROTO);
    ck_assert_int_eq(refuse, DS_REFUSE_REFUSED);
    ds_hs_clear(&s);
    /* a server answering with a version the client did not offer */
    pair_t x;
    ds_hs_init(&x.c, DS_HS_CLIENT, KEY_A, 32);
    ds_hs_init(&x.s, DS_HS_SERVER, KEY_A, 32);
    ds_hs_client_hello(&x.c, 1, 1, x.hello);
    f = frame_of(x.hello, sizeof x.hello);
    ds_hs_server_hello(&x.s, &f, x.shello, &refuse);
    x.shello[DS_HDR + 64] = 2;
    f = frame_of(x.shello, sizeof x.shello);
    ck_assert_int_eq(ds_hs_client_finish(&x.c, &f, x.proof), WEFT_EPROTO);
    ds_hs_clear(&x.c);
    ds_hs_clear(&x.s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Keys, addresses, map                                                */

static char tmpdir[128];

static void mkkey(const char *path, const char *content, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    fchmod(fd, mode);
    close(fd);
}

START_TEST(key_files) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-key-test-%d-XXXXXX", (int)getpid());
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    unsetenv("WEFT_SECRET_FILE");
    unsetenv("CREDENTIALS_DIRECTORY");
    char path[256], got[4096];
    uint8_t key[DS_KEY_MAX];
    size_t len;
    weft_key_source_t src;
    /* readable by others: refused, the message says how to fix it */
    snprintf(path, sizeof path, "%s/open", tmpdir);
    mkkey(path, "0123456789abcdef0123456789abcdef\n", 0644);
    ck_assert_int_eq(ds_key_load(path, 0, key, &len, &src, got, sizeof got), WEFT_EPERM);
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "chmod 600"));
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "0644"));
    chmod(path, 0600);
    ck_assert_int_eq(ds_key_load(path, 0, key, &len, &src, got, sizeof got), 0);
    ck_assert_uint_eq(len, 32); /* the newline is not part of the key */
    ck_assert_int_eq(src, WEFT_KEY_EXPLICIT);
    /* too short */
    snprintf(path, sizeof path, "%s/short", tmpdir);
    mkkey(path, "tooshort", 0600);
    ck_assert_int_eq(ds_key_load(path, 0, key, &len, &src, got, sizeof got), WEFT_EPARSE);
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "at least 32"));
    /* missing */
    snprintf(path, sizeof path, "%s/none", tmpdir);
    ck_assert_int_eq(ds_key_load(path, 1, key, &len, &src, got, sizeof got), WEFT_ENOENT);
    /* environment, then the credential directory, then the user key */
    snprintf(path, sizeof path, "%s/open", tmpdir);
    setenv("WEFT_SECRET_FILE", path, 1);
    ck_assert_int_eq(ds_key_load(NULL, 0, key, &len, &src, got, sizeof got), 0);
    ck_assert_int_eq(src, WEFT_KEY_ENV);
    unsetenv("WEFT_SECRET_FILE");
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    ck_assert_int_eq(ds_key_load(NULL, 0, key, &len, &src, got, sizeof got), WEFT_ENOENT);
    snprintf(path, sizeof path, "%s/weft-secret", tmpdir);
    mkkey(path, "credential-key-credential-key-credential-key", 0400);
    ck_assert_int_eq(ds_key_load(NULL, 0, key, &len, &src, got, sizeof got), 0);
    ck_assert_int_eq(src, WEFT_KEY_CREDENTIAL);
    ck_assert_uint_eq(len, 44);
    unsetenv("CREDENTIALS_DIRECTORY");
    setenv("XDG_CONFIG_HOME", tmpdir, 1);
    /* a client does not create the user key; a node does, 0600 */
    ck_assert_int_eq(ds_key_load(NULL, 0, key, &len, &src, got, sizeof got), WEFT_ENOENT);
    ck_assert_ptr_nonnull(strstr(weft_error_detail(), "weft/secret"));
    ck_assert_int_eq(ds_key_load(NULL, 1, key, &len, &src, got, sizeof got), 0);
    ck_assert_int_eq(src, WEFT_KEY_USER);
    ck_assert_uint_eq(len, 64);
    struct stat st;
    snprintf(path, sizeof path, "%s/weft/secret", tmpdir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/weft", tmpdir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    /* the same key the next time, found by a client too */
    uint8_t again[DS_KEY_MAX];
    size_t len2;
    ck_assert_int_eq(ds_key_load(NULL, 0, again, &len2, &src, got, sizeof got), 0);
    ck_assert_uint_eq(len2, 64);
    ck_assert_int_eq(memcmp(key, again, 64), 0);
    snprintf(path, sizeof path, "%s/weft/secret", tmpdir);
    ck_assert_int_eq(weft_dist_key_create(path), WEFT_EEXIST);
    /* two made keys differ */
    char p2[256];
    snprintf(p2, sizeof p2, "%s/k2", tmpdir);
    ck_assert_int_eq(weft_dist_key_create(p2), 0);
    ck_assert_int_eq(ds_key_load(p2, 0, again, &len2, &src, got, sizeof got), 0);
    ck_assert_int_ne(memcmp(key, again, 64), 0);
    unsetenv("XDG_CONFIG_HOME");
}
END_TEST

START_TEST(addresses) {
    ds_addr_t a;
    char out[300];
    ck_assert_int_eq(ds_addr_parse("127.0.0.1:7117", 1, &a), 0);
    ck_assert_str_eq(a.host, "127.0.0.1");
    ck_assert_int_eq(a.port, 7117);
    ck_assert_int_eq(ds_addr_parse("[::1]:80", 1, &a), 0);
    ck_assert_str_eq(a.host, "::1");
    ds_addr_format(&a, out, sizeof out);
    ck_assert_str_eq(out, "[::1]:80");
    ck_assert_int_eq(ds_addr_parse("node7", 7117, &a), 0);
    ck_assert_int_eq(a.port, 7117);
    ck_assert_int_eq(ds_addr_parse("::1", 1, &a), WEFT_EINVAL);
    ck_assert_int_eq(ds_addr_parse("h:65536", 1, &a), WEFT_EINVAL);
    ck_assert_int_eq(ds_addr_parse("h:-1", 1, &a), WEFT_EINVAL);
    ck_assert_int_eq(ds_addr_parse("[::1]x", 1, &a), WEFT_EINVAL);
    ck_assert_int_eq(ds_addr_is_loopback("127.0.0.1"), 1);
    ck_assert_int_eq(ds_addr_is_loopback("127.3.4.5"), 1);
    ck_assert_int_eq(ds_addr_is_loopback("::1"), 1);
    ck_assert_int_eq(ds_addr_is_loopback("0.0.0.0"), 0);
    ck_assert_int_eq(ds_addr_is_loopback("::"), 0);
    ck_assert_int_eq(ds_addr_is_loopback("10.1.2.3"), 0);
    char s[300];
    ds_sanitize("ok\x01\xff\\", 5, s, sizeof s);
    ck_assert_str_eq(s, "ok\\x01\\xff\\x5c");
}
END_TEST

START_TEST(map_many) {
    ds_map_t m = {0};
    enum { N = 20000 };
    for (uint64_t i = 1; i <= N; i++) ck_assert_int_eq(ds_map_put(&m, i * 7919, (void *)(uintptr_t)i), 0);
    ck_assert_uint_eq(m.count, N);
    for (uint64_t i = 1; i <= N; i += 2) ck_assert_ptr_eq(ds_map_del(&m, i * 7919), (void *)(uintptr_t)i);
    for (uint64_t i = 1; i <= N; i++) {
        void *v = ds_map_get(&m, i * 7919);
        if (i % 2) ck_assert_ptr_null(v);
        else ck_assert_ptr_eq(v, (void *)(uintptr_t)i);
    }
    ck_assert_uint_eq(m.count, N / 2);
    ck_assert_ptr_null(ds_map_del(&m, 12345678));
    ds_map_free(&m);
}
END_TEST

int main(void) {
    Suite *s = suite_create("dist_wire");
    TCase *tc = tcase_create("wire");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, decoder_incremental);
    tcase_add_test(tc, records_roundtrip);
    tcase_add_test(tc, records_refused);
    tcase_add_test(tc, handshake_and_sealing);
    tcase_add_test(tc, handshake_wrong_key_both_ways);
    tcase_add_test(tc, handshake_replayed);
    tcase_add_test(tc, handshake_versions_and_bad_keys);
    tcase_add_test(tc, key_files);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, map_many);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

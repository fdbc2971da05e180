/* ds_hs.c: the handshake of dist/PROTOCOL.md section 3 as a state machine
 * over whole frames, and the sealing of section 4. No sockets: the
 * connection code feeds frames in and sends what comes out, so the unit
 * tests and the fuzzer drive exactly the code the daemon runs.
 *
 * Secrets (the key copy, the ephemeral private key, the shared secret,
 * PRK and the derived keys) live in the ds_hs_t or on the stack and are
 * wiped with OPENSSL_cleanse as soon as they are not needed; proofs are
 * compared with CRYPTO_memcmp. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "ds.h"

static const char T_LABEL[] = "weft handshake v1";

void ds_hs_init(ds_hs_t *hs, int role, const uint8_t *psk, size_t psk_len) {
    memset(hs, 0, sizeof *hs);
    hs->role = role;
    if (psk_len > DS_KEY_MAX) psk_len = DS_KEY_MAX;
    memcpy(hs->psk, psk, psk_len);
    hs->psk_len = psk_len;
    hs->state = DS_HS_START;
}

void ds_hs_clear(ds_hs_t *hs) {
    if (hs->eph) EVP_PKEY_free(hs->eph);
    hs->eph = NULL;
    OPENSSL_cleanse(hs, sizeof *hs);
}

static int fail(ds_hs_t *hs, int rc) {
    hs->state = DS_HS_FAILED;
    if (hs->eph) EVP_PKEY_free(hs->eph);
    hs->eph = NULL;
    return rc;
}

/* A new ephemeral X25519 key; its public half into pub. */
static int eph_new(ds_hs_t *hs, uint8_t pub[32]) {
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    if (!k) return WEFT_ESYSTEM;
    size_t n = 32;
    if (EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != 32) {
        EVP_PKEY_free(k);
        return WEFT_ESYSTEM;
    }
    hs->eph = k;
    return 0;
}

/* ss = X25519(our private, peer public); WEFT_EPROTO for a low-order peer
 * key (OpenSSL refuses an all-zero result), WEFT_ESYSTEM otherwise. */
static int shared_secret(ds_hs_t *hs, const uint8_t peer[32], uint8_t ss[32]) {
    int rc = WEFT_ESYSTEM;
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = pk ? EVP_PKEY_CTX_new(hs->eph, NULL) : NULL;
    size_t n = 32;
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pk) == 1) {
        if (EVP_PKEY_derive(ctx, ss, &n) == 1 && n == 32) {
            static const uint8_t zero[32];
            rc = CRYPTO_memcmp(ss, zero, 32) ? 0 : WEFT_EPROTO;
        } else {
            rc = WEFT_EPROTO; /* low-order point: derive fails */
        }
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return rc;
}

static int sha256_transcript(const uint8_t *hello, const uint8_t *shello0, size_t shello0_len,
                             uint8_t out[32]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, T_LABEL, sizeof T_LABEL - 1) == 1 &&
             EVP_DigestUpdate(md, hello, DS_HDR + DS_HELLO_LEN) == 1 &&
             EVP_DigestUpdate(md, shello0, shello0_len) == 1 &&
             EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : WEFT_ESYSTEM;
}

/* HKDF-SHA256 with salt T, ikm = PSK || ss; info -> 32 bytes of out. */
static int hkdf(const uint8_t *prk, const char *info, uint8_t out[32]) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)prk, 32);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *p = OSSL_PARAM_construct_end();
    int ok = kc && EVP_KDF_derive(kc, out, 32, params) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    return ok ? 0 : WEFT_ESYSTEM;
}

static int hkdf_extract(const uint8_t *salt, const uint8_t *ikm, size_t ikm_len, uint8_t prk[32]) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 32);
    *p = OSSL_PARAM_construct_end();
    int ok = kc && EVP_KDF_derive(kc, prk, 32, params) == 1;
    EVP_KDF_CTX_free(kc);
    EVP_KDF_free(kdf);
    return ok ? 0 : WEFT_ESYSTEM;
}

static int hmac(const uint8_t key[32], const void *a, size_t an, const void *b, size_t bn,
                const void *c, size_t cn, uint8_t out[32]) {
    uint8_t buf[96];
    size_t n = an + bn + cn;
    if (n > sizeof buf) return WEFT_ESYSTEM;
    memcpy(buf, a, an);
    memcpy(buf + an, b, bn);
    if (cn) memcpy(buf + an + bn, c, cn);
    unsigned int len = 0;
    int ok = HMAC(EVP_sha256(), key, 32, buf, n, out, &len) != NULL && len == 32;
    OPENSSL_cleanse(buf, sizeof buf);
    return ok ? 0 : WEFT_ESYSTEM;
}

/* From ss and the transcript (already in hs): the three keys. */
static int derive(ds_hs_t *hs, uint8_t ss[32]) {
    uint8_t ikm[DS_KEY_MAX + 32], prk[32];
    memcpy(ikm, hs->psk, hs->psk_len);
    memcpy(ikm + hs->psk_len, ss, 32);
    int rc = hkdf_extract(hs->transcript, ikm, hs->psk_len + 32, prk);
    if (!rc) rc = hkdf(prk, "weft auth", hs->ka);
    if (!rc) rc = hkdf(prk, "weft c2s", hs->kcs);
    if (!rc) rc = hkdf(prk, "weft s2c", hs->ksc);
    OPENSSL_cleanse(ikm, sizeof ikm);
    OPENSSL_cleanse(prk, sizeof prk);
    OPENSSL_cleanse(ss, 32);
    OPENSSL_cleanse(hs->psk, sizeof hs->psk); /* not needed any more */
    return rc;
}

void ds_refuse_frame(uint8_t *out, uint8_t reason) {
    ds_frame_header(out, DS_T_REFUSE, DS_REFUSE_LEN);
    out[DS_HDR] = reason;
    out[DS_HDR + 1] = DS_VERSION;
    out[DS_HDR + 2] = DS_VERSION;
    out[DS_HDR + 3] = 0;
}

int ds_hs_client_hello(ds_hs_t *hs, uint8_t vmin, uint8_t vmax, uint8_t *out) {
    if (hs->role != DS_HS_CLIENT || hs->state != DS_HS_START) return fail(hs, WEFT_EINVAL);
    uint8_t *b = out + DS_HDR;
    ds_frame_header(out, DS_T_HELLO, DS_HELLO_LEN);
    if (RAND_bytes(b, 32) != 1 || eph_new(hs, b + 32)) return fail(hs, WEFT_ESYSTEM);
    b[64] = vmin;
    b[65] = vmax;
    b[66] = b[67] = 0;
    memcpy(hs->hello, out, sizeof hs->hello);
    hs->state = DS_HS_WAIT_SERVER;
    return 0;
}

int ds_hs_server_hello(ds_hs_t *hs, const ds_frame_t *f, uint8_t *out, int *refuse) {
    *refuse = 0;
    if (hs->role != DS_HS_SERVER || hs->state != DS_HS_START) return fail(hs, WEFT_EINVAL);
    if (f->type != DS_T_HELLO || f->len != DS_HELLO_LEN) {
        *refuse = DS_REFUSE_REFUSED;
        ds_refuse_frame(out, DS_REFUSE_REFUSED);
        return fail(hs, WEFT_EPROTO);
    }
    const uint8_t *in = f->body;
    uint8_t vmin = in[64], vmax = in[65];
    if (in[66] || in[67] || vmin > vmax) {
        *refuse = DS_REFUSE_REFUSED;
        ds_refuse_frame(out, DS_REFUSE_REFUSED);
        return fail(hs, WEFT_EPROTO);
    }
    if (vmin > DS_VERSION || vmax < DS_VERSION) {
        *refuse = DS_REFUSE_VERSION;
        ds_refuse_frame(out, DS_REFUSE_VERSION);
        return fail(hs, WEFT_EPROTO);
    }
    memcpy(hs->hello, f->frame, sizeof hs->hello);
    uint8_t *b = out + DS_HDR;
    ds_frame_header(out, DS_T_SERVER_HELLO, DS_SHELLO_LEN);
    if (RAND_bytes(b, 32) != 1 || eph_new(hs, b + 32)) return fail(hs, WEFT_ESYSTEM);
    b[64] = DS_VERSION;
    b[65] = b[66] = b[67] = 0;
    uint8_t ss[32];
    int rc = shared_secret(hs, in + 32, ss);
    if (rc) {
        OPENSSL_cleanse(ss, sizeof ss);
        if (rc == WEFT_EPROTO) {
            *refuse = DS_REFUSE_REFUSED;
            ds_refuse_frame(out, DS_REFUSE_REFUSED);
        }
        return fail(hs, rc);
    }
    EVP_PKEY_free(hs->eph); /* es is not needed after ss */
    hs->eph = NULL;
    if ((rc = sha256_transcript(hs->hello, out, DS_HDR + 68, hs->transcript)) ||
        (rc = derive(hs, ss)))
        return fail(hs, rc);
    if ((rc = hmac(hs->ka, "weft server", 11, hs->transcript, 32, NULL, 0, hs->ps)))
        return fail(hs, rc);
    memcpy(b + 68, hs->ps, 32);
    hs->version = DS_VERSION;
    hs->state = DS_HS_WAIT_PROOF;
    return 0;
}

int ds_hs_client_finish(ds_hs_t *hs, const ds_frame_t *f, uint8_t *out) {
    if (hs->role != DS_HS_CLIENT || hs->state != DS_HS_WAIT_SERVER) return fail(hs, WEFT_EINVAL);
    if (f->type != DS_T_SERVER_HELLO || f->len != DS_SHELLO_LEN) return fail(hs, WEFT_EPROTO);
    const uint8_t *in = f->body;
    uint8_t vmin = hs->hello[DS_HDR + 64], vmax = hs->hello[DS_HDR + 65];
    if (in[65] || in[66] || in[67] || in[64] < vmin || in[64] > vmax || in[64] != DS_VERSION)
        return fail(hs, WEFT_EPROTO);
    uint8_t ss[32];
    int rc = shared_secret(hs, in + 32, ss);
    EVP_PKEY_free(hs->eph);
    hs->eph = NULL;
    if (rc) {
        OPENSSL_cleanse(ss, sizeof ss);
        return fail(hs, rc);
    }
    if ((rc = sha256_transcript(hs->hello, f->frame, DS_HDR + 68, hs->transcript)) ||
        (rc = derive(hs, ss)))
        return fail(hs, rc);
    uint8_t want[32];
    if ((rc = hmac(hs->ka, "weft server", 11, hs->transcript, 32, NULL, 0, want)))
        return fail(hs, rc);
    int match = CRYPTO_memcmp(want, in + 68, 32) == 0;
    OPENSSL_cleanse(want, sizeof want);
    if (!match) return fail(hs, WEFT_EAUTH);
    memcpy(hs->ps, in + 68, 32);
    ds_frame_header(out, DS_T_CLIENT_PROOF, DS_PROOF_LEN);
    if ((rc = hmac(hs->ka, "weft client", 11, hs->transcript, 32, hs->ps, 32, out + DS_HDR)))
        return fail(hs, rc);
    OPENSSL_cleanse(hs->ka, sizeof hs->ka);
    hs->version = in[64];
    hs->state = DS_HS_DONE;
    return 0;
}

int ds_hs_server_finish(ds_hs_t *hs, const ds_frame_t *f) {
    if (hs->role != DS_HS_SERVER || hs->state != DS_HS_WAIT_PROOF) return fail(hs, WEFT_EINVAL);
    if (f->type != DS_T_CLIENT_PROOF || f->len != DS_PROOF_LEN) return fail(hs, WEFT_EPROTO);
    uint8_t want[32];
    int rc = hmac(hs->ka, "weft client", 11, hs->transcript, 32, hs->ps, 32, want);
    if (rc) return fail(hs, rc);
    int match = CRYPTO_memcmp(want, f->body, 32) == 0;
    OPENSSL_cleanse(want, sizeof want);
    OPENSSL_cleanse(hs->ka, sizeof hs->ka);
    if (!match) return fail(hs, WEFT_EAUTH);
    hs->state = DS_HS_DONE;
    return 0;
}

static int aead_init(ds_aead_t *a, const uint8_t key[32], int enc) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return WEFT_ENOMEM;
    if (EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, key, NULL, enc) != 1) {
        EVP_CIPHER_CTX_free(c);
        return WEFT_ESYSTEM;
    }
    a->ctx = c;
    a->ctr = 0;
    return 0;
}

int ds_hs_split(ds_hs_t *hs, ds_aead_t *tx, ds_aead_t *rx) {
    if (hs->state != DS_HS_DONE) return WEFT_EINVAL;
    const uint8_t *ktx = hs->role == DS_HS_CLIENT ? hs->kcs : hs->ksc;
    const uint8_t *krx = hs->role == DS_HS_CLIENT ? hs->ksc : hs->kcs;
    int rc = aead_init(tx, ktx, 1);
    if (!rc && (rc = aead_init(rx, krx, 0))) ds_aead_free(tx);
    int version = hs->version, role = hs->role;
    ds_hs_clear(hs);
    hs->version = version;
    hs->role = role;
    hs->state = rc ? DS_HS_FAILED : DS_HS_DONE;
    return rc;
}

void ds_aead_free(ds_aead_t *a) {
    if (a->ctx) EVP_CIPHER_CTX_free(a->ctx); /* cleanses the key schedule */
    a->ctx = NULL;
}

static void nonce_of(uint64_t ctr, uint8_t n[12]) {
    memset(n, 0, 4);
    ds_put64(n + 4, ctr);
}

int ds_seal(ds_aead_t *a, const uint8_t *pt, size_t n, uint8_t *out) {
    if (a->ctr == UINT64_MAX) return WEFT_ERANGE;
    uint8_t nonce[12];
    nonce_of(a->ctr, nonce);
    ds_frame_header(out, DS_T_SEALED, (uint32_t)(n + DS_TAG));
    EVP_CIPHER_CTX *c = a->ctx;
    int len = 0;
    if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(c, NULL, &len, out, DS_HDR) != 1 ||
        (n && EVP_EncryptUpdate(c, out + DS_HDR, &len, pt, (int)n) != 1) ||
        EVP_EncryptFinal_ex(c, out + DS_HDR + n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, DS_TAG, out + DS_HDR + n) != 1)
        return WEFT_ESYSTEM;
    a->ctr++;
    return 0;
}

int ds_open(ds_aead_t *a, const ds_frame_t *f, uint8_t *body) {
    if (f->type != DS_T_SEALED || f->len < DS_TAG || a->ctr == UINT64_MAX) return WEFT_EAUTH;
    size_t n = f->len - DS_TAG;
    uint8_t nonce[12];
    nonce_of(a->ctr, nonce);
    EVP_CIPHER_CTX *c = a->ctx;
    int len = 0;
    if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(c, NULL, &len, f->frame, DS_HDR) != 1 ||
        (n && EVP_DecryptUpdate(c, body, &len, f->body, (int)n) != 1) ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, DS_TAG, (void *)(f->body + n)) != 1 ||
        EVP_DecryptFinal_ex(c, body + n, &len) != 1)
        return WEFT_EAUTH;
    a->ctr++;
    return 0;
}

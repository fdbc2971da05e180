/* fuzz_beacon: libFuzzer harness of the discovery beacon parser
 * (ds_beacon_parse, dist/PROTOCOL.md section 8). The first input byte
 * picks the mode: even, the rest is parsed as it is (nearly always
 * refused before or at the HMAC); odd, the rest gets a valid HMAC under
 * the harness's key first (when its size allows one), so the checks
 * behind the HMAC (port, host, versions) are reached too. A parse that
 * succeeds must describe the bytes it was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "ds.h"
#include "ds_disc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t kb[32];
    static int ready;
    if (!ready) {
        static const uint8_t psk[32] = "weft fuzz beacon key, 32 bytes.";
        if (ds_beacon_key(psk, sizeof psk, kb)) abort();
        ready = 1;
    }
    if (size < 1 || size > 4096) return 0;
    int sign = data[0] & 1;
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    if (!p) return 0;
    memcpy(p, data + 1, n);
    if (sign && n >= DS_BEACON_MIN) {
        unsigned len = 0;
        HMAC(EVP_sha256(), kb, 32, p, n - DS_BEACON_MAC, p + n - DS_BEACON_MAC, &len);
    }
    ds_beacon_t b;
    int r = ds_beacon_parse(kb, p, n, &b);
    if (r == DS_BCN_OK) {
        size_t hl = strlen(b.host);
        if (n != DS_BEACON_MIN + hl || b.port == 0 || b.vmin > b.vmax) abort();
        if (memcmp(p + DS_BEACON_FIXED, b.host, hl)) abort();
    } else if (r != DS_BCN_MALFORMED && r != DS_BCN_FORGED && r != DS_BCN_VERSION) {
        abort();
    }
    free(p);
    return 0;
}

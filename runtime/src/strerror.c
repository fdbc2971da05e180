/* strerror.c: error codes to text (generated from WEFT_ERRNO_MAP) and the
 * version string. */
#include "weft/common.h"

#define WF_STR_(x) #x
#define WF_XSTR_(x) WF_STR_(x)

const char *weft_strerror(int err) {
    switch (err) {
    case 0: return "success";
#define WF_MSG_(name, val, msg) case WEFT_##name: return msg;
    WEFT_ERRNO_MAP(WF_MSG_)
#undef WF_MSG_
    default: return "unknown error";
    }
}

const char *weft_err_name(int err) {
    switch (err) {
    case 0: return "WEFT_OK";
#define WF_NAME_(name, val, msg) case WEFT_##name: return "WEFT_" #name;
    WEFT_ERRNO_MAP(WF_NAME_)
#undef WF_NAME_
    default: return "WEFT_UNKNOWN";
    }
}

const char *weft_version(void) {
    return WF_XSTR_(WEFT_VERSION_MAJOR) "." WF_XSTR_(WEFT_VERSION_MINOR) "." WF_XSTR_(WEFT_VERSION_PATCH);
}

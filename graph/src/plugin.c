/* plugin.c: loading shared libraries of named tasks (weft_plugin_load).
 * weftd, weft-run and any program that wants tasks from a plugin use this
 * one loader, so every tool accepts the same plugins. */
#include <dlfcn.h>

#include "gr.h"

int weft_plugin_load(const char *path) {
    if (!path || !*path) return WEFT_EINVAL;
    dlerror(); /* clear */
    /* RTLD_LOCAL: plugins do not see each other's symbols; RTLD_NOW: an
     * unresolved symbol fails here, not when a task first runs */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        wf_set_detail("plugin '%s': cannot load: %s", path, why ? why : "unknown reason");
        return WEFT_EIO;
    }
    union {
        void *p;
        weft_plugin_init_fn fn;
    } init;
    init.p = dlsym(h, WEFT_PLUGIN_INIT);
    if (!init.p) {
        wf_set_detail("plugin '%s' has no function " WEFT_PLUGIN_INIT, path);
        dlclose(h);
        return WEFT_ENOENT;
    }
    int rc = init.fn();
    if (rc) {
        /* Tasks it registered before failing stay registered and keep the
         * library loaded: they may be in use. */
        wf_set_detail("plugin '%s': " WEFT_PLUGIN_INIT " returned %d (%s)", path, rc,
                      weft_strerror(rc));
        return rc < 0 ? rc : WEFT_ETASK;
    }
    return 0; /* stays loaded: its tasks are registered for the process's life */
}

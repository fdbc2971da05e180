/* weftd_python.h: weftd's --python (weftd_python.c). */
#ifndef WEFTD_PYTHON_H
#define WEFTD_PYTHON_H

/* Starts n Python worker processes of exe (NULL: python3) and registers
 * the forwarding task "weft.py". 0 or a weft code (detail set). */
int weftd_python_start(int n, const char *exe);
/* Unregisters "weft.py" and stops the processes (after the server, whose
 * deferred nodes need the pool until they complete, was freed). */
void weftd_python_stop(void);

#endif

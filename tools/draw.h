/* draw.h: what weft's command-line tools share to draw a graph: output
 * formats by name or file extension, and rendering dot text into SVG or
 * PNG with graphviz's dot program. Not part of libweft. */
#ifndef WEFT_TOOLS_DRAW_H
#define WEFT_TOOLS_DRAW_H

#include <stddef.h>

#include "weft.h"

enum { DRAW_NONE, DRAW_DOT, DRAW_SVG, DRAW_PNG };

/* "dot" or "gv", "svg", "png" to DRAW_*, else DRAW_NONE. */
int draw_parse_format(const char *s);

/* The format a path asks for by its extension: DRAW_DOT without one (or
 * for a dotfile), DRAW_NONE for an unknown extension. */
int draw_format_of_path(const char *path);

/* Writes g (coloured by run, which may be NULL) to out_path (standard
 * output when NULL) in format fmt: dot text by weft itself, SVG and PNG
 * through `dotprog -Tfmt`. Messages go to stderr prefixed with prog.
 * Returns 0, or -1 when the text could not be made or written or graphviz
 * failed (the message says which). */
int draw_graph(const char *prog, const char *dotprog, const weft_graph_t *g,
               const weft_run_t *run, int fmt, const char *out_path);

#endif

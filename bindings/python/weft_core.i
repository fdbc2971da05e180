/* weft_core.i: the file the Python build hands to SWIG. It is weft.i and
 * nothing else; it exists so that CMake's per-source properties for the
 * Python module (SWIG_MODULE_NAME core, set in python.cmake) live on a file
 * of their own and never reach the Lua build of the same weft.i. */
%include "weft.i"

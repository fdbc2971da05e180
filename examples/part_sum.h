/* part_sum.h: the alternating harmonic series shared by callback.c and
 * dynamic_ncpus.c, as in Parallel Python's callback.py and dynamic_ncpus.py:
 *
 *     1 - 1/2 + 1/3 - 1/4 + ... over x in [PART_SUM_START, PART_SUM_END)
 *
 * which tends to ln 2. With the last term x = 19999999 (positive) the partial
 * sum overshoots ln 2 by about 1/(2 * 20000000) = 2.5e-8. The range is cut
 * into PART_SUM_PARTS slices of PART_SUM_STEP numbers (the last one shorter),
 * each summed from low x to high x by one task, so each slice's double is the
 * same whichever thread computes it. */
#ifndef WEFT_EXAMPLES_PART_SUM_H
#define WEFT_EXAMPLES_PART_SUM_H

#include <stdint.h>

#define PART_SUM_START 1
#define PART_SUM_END 20000000
#define PART_SUM_PARTS 128
#define PART_SUM_STEP ((PART_SUM_END - PART_SUM_START) / PART_SUM_PARTS + 1)

typedef struct part_sum_slice {
    int64_t start;  /* first x of the slice */
    int64_t end;    /* one past the last x */
    double partial; /* written by the task */
} part_sum_slice_t;

/* The slice number index of the range (0 <= index < PART_SUM_PARTS). */
static inline part_sum_slice_t part_sum_slice(int index)
{
    part_sum_slice_t s;
    s.start = PART_SUM_START + (int64_t)index * PART_SUM_STEP;
    s.end = s.start + PART_SUM_STEP;
    if (s.end > PART_SUM_END)
        s.end = PART_SUM_END;
    s.partial = 0.0;
    return s;
}

/* Sum of the terms with x in [start, end), lowest x first. */
static inline double part_sum(int64_t start, int64_t end)
{
    double sum = 0.0;
    for (int64_t x = start; x < end; x++) {
        if (x % 2 == 0)
            sum -= 1.0 / (double)x;
        else
            sum += 1.0 / (double)x;
    }
    return sum;
}

#endif

// Blocked direct convolution for the baseline instruction set (x86-64 SSE2: a 16-float
// vector is four registers): register blocks of 2 accumulator vectors.
#define CNN4J_BLK_ACC 2
#define CNN4J_BLK_NB 1
#define CNN4J_BLK_FJ 2
#define CNN4J_BLK_F1 2
#define CNN4J_BLK_ISA blocked_baseline
#include "blocked_kernel.inc"

// The dense matmul entry point: the blocked GEMM over row-major operands, with the rows or
// columns split across threads when the product is large enough.
#include "common.h"
#include "gemm.h"

namespace cnn4j {
namespace {

template <class T>
GemmOperands<T> operands(int32_t ta, int32_t tb, i64 m, i64 n, i64 k, const void *a, const void *b, void *c,
                         bool accumulate) {
  // a is [m,k] (or [k,m] transposed), b is [k,n] (or [n,k] transposed).
  i64 ars = ta ? 1 : k, acs = ta ? m : 1;
  i64 brs = tb ? 1 : n, bcs = tb ? k : 1;
  return GemmOperands<T>{m, n, k, static_cast<const T *>(a), ars, acs, static_cast<const T *>(b), brs, bcs,
                         static_cast<T *>(c), n, accumulate};
}

int matmul_threads(i64 m, i64 n, i64 k) { return threads_for(2.0 * m * n * k / 8); }

}  // namespace
}  // namespace cnn4j

using namespace cnn4j;

CNN4J_CUDA_TWIN(matmul)
int32_t cnn4j_matmul(cnn4j_context *ctx, int32_t dtype, int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                     int64_t k, const void *a, const void *b, void *c, int32_t accumulate) {
  CNN4J_ROUTE(matmul, dtype, trans_a, trans_b, m, n, k, a, b, c, accumulate)
  if (!sizes_ok({m, n, k}) || a == nullptr || b == nullptr || c == nullptr) return CNN4J_INVALID_ARGUMENT;
  CNN4J_DISPATCH_FLOAT(dtype, {
    const int threads = matmul_threads(m, n, k);
    T *ws = static_cast<T *>(context_workspace(ctx, int64_t(sizeof(T)) * gemm_scratch_elems<T>() * threads));
    if (ws == nullptr) return CNN4J_OUT_OF_MEMORY;
    gemm_parallel(operands<T>(trans_a, trans_b, m, n, k, a, b, c, accumulate != 0), ws, threads);
  });
  return CNN4J_OK;
}

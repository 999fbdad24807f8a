// The validators of the window geometry (cnn4j/geometry.h), shared by the CPU and CUDA ops.
#include "cnn4j/geometry.h"

#include <cstdint>
#include <initializer_list>

namespace {

bool window_ok(const cnn4j_window &v) {
  return v.kh >= 1 && v.kw >= 1 && v.sh >= 1 && v.sw >= 1 && v.dh >= 1 && v.dw >= 1 && v.pt >= 0 && v.pl >= 0;
}

}  // namespace

extern "C" {

int32_t cnn4j_conv_geometry_check(const cnn4j_conv_geometry *g) {
  if (g == nullptr || !window_ok(g->win)) return CNN4J_INVALID_ARGUMENT;
  for (int64_t s : {g->n, g->c, g->h, g->w, g->k, g->oh, g->ow}) {
    if (s < 0) return CNN4J_INVALID_ARGUMENT;
  }
  if (g->groups < 1 || g->c % g->groups != 0 || g->k % g->groups != 0) return CNN4J_INVALID_ARGUMENT;
  return CNN4J_OK;
}

int32_t cnn4j_pool_geometry_check(const cnn4j_pool_geometry *g) {
  if (g == nullptr || !window_ok(g->win)) return CNN4J_INVALID_ARGUMENT;
  for (int64_t s : {g->planes, g->h, g->w, g->oh, g->ow}) {
    if (s < 0) return CNN4J_INVALID_ARGUMENT;
  }
  if (g->h > 0 && g->w > INT32_MAX / g->h) return CNN4J_INVALID_ARGUMENT;  // arg-max indices are int32
  return CNN4J_OK;
}

}  // extern "C"

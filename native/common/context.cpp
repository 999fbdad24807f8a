// Contexts (cnn4j.h): creation, destruction, and the CPU ops' scratch memory.
#include "context.h"

#include <cstdlib>

#include "cnn4j/cuda.h"

namespace cnn4j {

void *context_workspace(cnn4j_context *ctx, int64_t bytes) {
  if (bytes <= ctx->bytes && ctx->scratch != nullptr) return ctx->scratch;
  // Grown to what this call needs: the old block is freed first, so that the two never
  // coexist (they can be hundreds of megabytes).
  std::free(ctx->scratch);
  ctx->scratch = nullptr;
  ctx->bytes = 0;
  // Page-aligned: passes lay out their threads' parts in whole pages (kPageFloats).
  const int64_t size = (bytes < 4096 ? 4096 : bytes + 4095) / 4096 * 4096;
  void *p = std::aligned_alloc(4096, static_cast<size_t>(size));
  if (p == nullptr) return nullptr;
  ctx->scratch = p;
  ctx->bytes = size;
  return p;
}

}  // namespace cnn4j

int32_t cnn4j_context_create(int32_t device, int32_t index, cnn4j_context **out) {
  if (out == nullptr) return CNN4J_INVALID_ARGUMENT;
  *out = nullptr;
  if (device == CNN4J_DEVICE_CUDA) {
    if (index < 0) return CNN4J_INVALID_ARGUMENT;
    // Makes the device current and checks that it works (in a build without CUDA: refused,
    // with the reason in cnn4j_cuda_last_error).
    if (int32_t st = cnn4j_cuda_set_device(index); st != CNN4J_OK) return st;
  } else if (device != CNN4J_DEVICE_CPU || index != 0) {
    return CNN4J_INVALID_ARGUMENT;
  }
  auto *ctx = static_cast<cnn4j_context *>(std::calloc(1, sizeof(cnn4j_context)));
  if (ctx == nullptr) return CNN4J_OUT_OF_MEMORY;
  ctx->device = device;
  *out = ctx;
  return CNN4J_OK;
}

int32_t cnn4j_context_destroy(cnn4j_context *ctx) {
  if (ctx != nullptr) {
    std::free(ctx->scratch);
    std::free(ctx);
  }
  return CNN4J_OK;
}

int32_t cnn4j_context_scratch_bytes(const cnn4j_context *ctx, int64_t *bytes) {
  if (ctx == nullptr || bytes == nullptr) return CNN4J_INVALID_ARGUMENT;
  *bytes = ctx->bytes;
  return CNN4J_OK;
}

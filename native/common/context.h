// Contexts (cnn4j.h) inside the library: what a context holds, and how an op reaches the
// device of its context. Internal: included by native/cpu and native/cuda.
//
// Every op of cnn4j.h is written once per device, both with the public signature: its
// entry point cnn4j_<op> in native/cpu, and its CUDA twin cnn4j::cuda::<op> in native/cuda.
//   CNN4J_CUDA_TWIN(op)       declares the twin from the public declaration (so the two
//                             cannot drift); written before the op's definition on both sides.
//   CNN4J_ROUTE(op, args...)  the entry point's first statement: a null context is refused,
//                             a CUDA context's call goes to the twin with the same arguments
//                             (CNN4J_UNSUPPORTED in a build without CUDA), and a CPU
//                             context's call runs on.
#ifndef CNN4J_COMMON_CONTEXT_H
#define CNN4J_COMMON_CONTEXT_H

#include <stdint.h>

#include "cnn4j/cnn4j.h"

struct cnn4j_context {
  int32_t device;  // a cnn4j_device
  void *scratch;   // CPU: the convolutions' and matmuls' scratch memory, grown, never shrunk
  int64_t bytes;   // its size
};

namespace cnn4j {

// The context's scratch memory of at least `bytes` bytes (64-byte aligned), grown when the
// context holds less (the old block freed first); null when out of memory (the context
// then holds none).
void *context_workspace(cnn4j_context *ctx, int64_t bytes);

}  // namespace cnn4j

#define CNN4J_CUDA_TWIN(op)          \
  namespace cnn4j::cuda {            \
  decltype(::cnn4j_##op) op;         \
  }

#if defined(CNN4J_WITH_CUDA)
#define CNN4J_ROUTE(op, ...)                          \
  if (ctx == nullptr) return CNN4J_INVALID_ARGUMENT;  \
  if (ctx->device == CNN4J_DEVICE_CUDA) return cnn4j::cuda::op(ctx, ##__VA_ARGS__);
#else
#define CNN4J_ROUTE(op, ...)                          \
  if (ctx == nullptr) return CNN4J_INVALID_ARGUMENT;  \
  if (ctx->device != CNN4J_DEVICE_CPU) return CNN4J_UNSUPPORTED;
#endif

#endif

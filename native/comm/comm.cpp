// The collective layer (cnn4j/comm.h) over Gloo's TCP transport.
//
// A group is a Gloo context whose pairs (one TCP connection per other rank) are connected
// from addresses that the caller's rendezvous exchanged in one round: each rank creates a
// pair for every other rank, listening, and publishes their addresses; each rank then
// connects its pair for rank p with the address that p's pair for it listens on. (Gloo's own
// full-mesh connect does the same through a key-value store, in several rounds whose number
// differs between its ranks; the rendezvous here is one all-gather.)
#include "cnn4j/comm.h"

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/context.h>
#include <gloo/math.h>
#include <gloo/transport/context.h>
#include <gloo/transport/device.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

thread_local std::string g_error;

int32_t fail(int32_t status, const std::string &message) {
  g_error = message;
  return status;
}

void put_u32(std::vector<char> &out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}

bool get_u32(const char *&p, const char *end, uint32_t &v) {
  if (end - p < 4) return false;
  std::memcpy(&v, p, 4);
  p += 4;
  return true;
}

// A Gloo context whose pairs the caller connects (gloo::Context keeps the device and the
// transport context for its subclasses).
class MeshContext : public gloo::Context {
 public:
  MeshContext(int rank, int size, std::chrono::milliseconds timeout) : gloo::Context(rank, size) {
    setTimeout(timeout);
  }

  // Creates and listens on a pair for every other rank; returns their addresses, by rank
  // (empty for this one).
  std::vector<std::vector<char>> listen(const std::shared_ptr<gloo::transport::Device> &dev) {
    device_ = dev;
    transportContext_ = dev->createContext(rank, size);
    transportContext_->setTimeout(getTimeout());
    std::vector<std::vector<char>> addrs(static_cast<size_t>(size));
    for (int i = 0; i < size; i++) {
      if (i != rank) addrs[size_t(i)] = transportContext_->createPair(i)->address().bytes();
    }
    return addrs;
  }

  // Connects the pair for rank `peer` to the address that peer's pair for this rank listens on.
  void connect(int peer, const std::vector<char> &address) { transportContext_->getPair(peer)->connect(address); }
};

}  // namespace

struct cnn4j_comm {
  int rank = 0, size = 1;
  std::shared_ptr<gloo::transport::Device> device;
  std::shared_ptr<MeshContext> context;
  std::vector<char> address;                     // this rank's: [rank, length, bytes] per other rank
  std::vector<std::vector<char>> peers;          // by rank: the address its pair for this rank listens on
  bool connected = false, broken = false;
  uint32_t tag = 0;
  std::chrono::milliseconds timeout{0};
};

namespace {

// Runs a collective operation, turning Gloo's exceptions into a status; a failure leaves the
// group unusable.
template <class F>
int32_t collective(cnn4j_comm *c, const char *what, F &&op) {
  if (c == nullptr) return fail(CNN4J_INVALID_ARGUMENT, std::string(what) + ": the group is null");
  if (!c->connected) return fail(CNN4J_INVALID_ARGUMENT, std::string(what) + ": the group is not connected");
  if (c->broken) return fail(CNN4J_PEER_ERROR, std::string(what) + ": the group failed earlier; destroy it");
  try {
    op();
    return CNN4J_OK;
  } catch (const std::exception &e) {
    c->broken = true;
    return fail(CNN4J_PEER_ERROR, std::string(what) + " failed on rank " + std::to_string(c->rank) + " of " +
                                      std::to_string(c->size) + ": " + e.what());
  }
}

}  // namespace

extern "C" {

CNN4J_API int32_t cnn4j_comm_abi_version(void) { return 1; }

CNN4J_API int32_t cnn4j_comm_create(int32_t rank, int32_t size, const char *host, int64_t timeout_ms,
                                    cnn4j_comm **out) {
  if (out == nullptr || host == nullptr) return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_create: null argument");
  *out = nullptr;
  if (size < 1 || size > 65536 || rank < 0 || rank >= size) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_create: rank " + std::to_string(rank) + " is not in [0, " +
                                            std::to_string(size) + ") or the size is not in [1, 65536]");
  }
  if (timeout_ms <= 0) return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_create: the timeout must be positive");
  auto c = std::make_unique<cnn4j_comm>();
  c->rank = rank;
  c->size = size;
  c->timeout = std::chrono::milliseconds(timeout_ms);
  c->peers.resize(size_t(size));
  try {
    gloo::transport::tcp::attr attr;
    attr.hostname = host;
    c->device = gloo::transport::tcp::CreateDevice(attr);
    c->context = std::make_shared<MeshContext>(rank, size, c->timeout);
    const auto addrs = c->context->listen(c->device);
    for (int i = 0; i < size; i++) {
      if (i == rank) continue;
      put_u32(c->address, uint32_t(i));
      put_u32(c->address, uint32_t(addrs[size_t(i)].size()));
      c->address.insert(c->address.end(), addrs[size_t(i)].begin(), addrs[size_t(i)].end());
    }
  } catch (const std::exception &e) {
    return fail(CNN4J_PEER_ERROR, std::string("cnn4j_comm_create: cannot listen on ") + host + ": " + e.what());
  }
  c->connected = size == 1;
  *out = c.release();
  return CNN4J_OK;
}

CNN4J_API int32_t cnn4j_comm_address(cnn4j_comm *comm, void *buf, int64_t cap, int64_t *len) {
  if (comm == nullptr || len == nullptr || cap < 0 || (cap > 0 && buf == nullptr)) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_address: null or negative argument");
  }
  *len = int64_t(comm->address.size());
  if (cap >= *len && *len > 0) std::memcpy(buf, comm->address.data(), comm->address.size());
  return CNN4J_OK;
}

CNN4J_API int32_t cnn4j_comm_peer(cnn4j_comm *comm, int32_t rank, const void *address, int64_t len) {
  if (comm == nullptr || address == nullptr || len <= 0) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_peer: null or empty address");
  }
  if (rank < 0 || rank >= comm->size || rank == comm->rank) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_peer: rank " + std::to_string(rank) + " is not another rank of " +
                                            std::to_string(comm->size));
  }
  // Rank `rank`'s address lists, for every rank but its own, where its pair for that rank
  // listens: keep the one for this rank.
  const char *p = static_cast<const char *>(address), *end = p + len;
  int found = 0;
  std::vector<char> mine;
  while (p < end) {
    uint32_t to = 0, n = 0;
    if (!get_u32(p, end, to) || !get_u32(p, end, n) || uint64_t(end - p) < n || to >= uint32_t(comm->size) ||
        to == uint32_t(rank)) {
      found = -1;
      break;
    }
    if (to == uint32_t(comm->rank)) {
      mine.assign(p, p + n);
      found++;
    }
    p += n;
  }
  if (found != 1 || mine.empty()) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_peer: the " + std::to_string(len) + " bytes given for rank " +
                                            std::to_string(rank) + " are not its cnn4j_comm_address for a group of " +
                                            std::to_string(comm->size) + " with rank " + std::to_string(comm->rank));
  }
  comm->peers[size_t(rank)] = std::move(mine);
  return CNN4J_OK;
}

CNN4J_API int32_t cnn4j_comm_connect(cnn4j_comm *comm) {
  if (comm == nullptr) return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_connect: the group is null");
  if (comm->connected) return CNN4J_OK;
  if (comm->broken) return fail(CNN4J_PEER_ERROR, "cnn4j_comm_connect: the group failed earlier; destroy it");
  for (int i = 0; i < comm->size; i++) {
    if (i != comm->rank && comm->peers[size_t(i)].empty()) {
      return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_connect: no address was given for rank " + std::to_string(i));
    }
  }
  // Every rank connects its pairs in rank order, as Gloo's own full-mesh connect does.
  try {
    for (int i = 0; i < comm->size; i++) {
      if (i != comm->rank) comm->context->connect(i, comm->peers[size_t(i)]);
    }
  } catch (const std::exception &e) {
    comm->broken = true;
    return fail(CNN4J_PEER_ERROR, "cnn4j_comm_connect: rank " + std::to_string(comm->rank) + " of " +
                                      std::to_string(comm->size) + ": " + e.what());
  }
  comm->connected = true;
  return CNN4J_OK;
}

CNN4J_API int32_t cnn4j_comm_allreduce_sum_f32(cnn4j_comm *comm, float *data, int64_t n) {
  if (n < 0 || (n > 0 && data == nullptr)) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_allreduce_sum_f32: null data or negative length");
  }
  return collective(comm, "all-reduce", [&] {
    if (n == 0 || comm->size == 1) return;
    gloo::AllreduceOptions opts(comm->context);
    opts.setOutput(data, size_t(n));
    opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
    opts.setReduceFunction(static_cast<void (*)(void *, const void *, const void *, size_t)>(&gloo::sum<float>));
    opts.setTag(comm->tag++);
    opts.setTimeout(comm->timeout);
    gloo::allreduce(opts);
  });
}

CNN4J_API int32_t cnn4j_comm_broadcast_f32(cnn4j_comm *comm, float *data, int64_t n, int32_t root) {
  if (n < 0 || (n > 0 && data == nullptr)) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_broadcast_f32: null data or negative length");
  }
  if (comm != nullptr && (root < 0 || root >= comm->size)) {
    return fail(CNN4J_INVALID_ARGUMENT, "cnn4j_comm_broadcast_f32: root " + std::to_string(root) + " is not a rank");
  }
  return collective(comm, "broadcast", [&] {
    if (n == 0 || comm->size == 1) return;
    gloo::BroadcastOptions opts(comm->context);
    opts.setOutput(data, size_t(n));
    opts.setRoot(root);
    opts.setTag(comm->tag++);
    opts.setTimeout(comm->timeout);
    gloo::broadcast(opts);
  });
}

CNN4J_API int32_t cnn4j_comm_barrier(cnn4j_comm *comm) {
  return collective(comm, "barrier", [&] {
    if (comm->size == 1) return;
    gloo::BarrierOptions opts(comm->context);
    opts.setTag(comm->tag++);
    opts.setTimeout(comm->timeout);
    gloo::barrier(opts);
  });
}

CNN4J_API int32_t cnn4j_comm_destroy(cnn4j_comm *comm) {
  if (comm == nullptr) return CNN4J_OK;
  try {
    comm->context.reset();
    comm->device.reset();
  } catch (...) {
    // Closing the sockets of a group whose peers are gone: nothing left to report.
  }
  delete comm;
  return CNN4J_OK;
}

CNN4J_API const char *cnn4j_comm_last_error(void) { return g_error.c_str(); }

}  // extern "C"

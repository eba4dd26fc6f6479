// mpi_communicator.cpp -- non-blocking MPI collectives and point-to-point with a timeout.
#include "parallel/comm/mpi_communicator.h"

#include <mpi.h>

#include <chrono>
#include <climits>
#include <thread>
#include <vector>

#include "core/error.h"

namespace plinth::comm {
namespace {

using Clock = std::chrono::steady_clock;

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::F32: return MPI_FLOAT;
    case DType::F64: return MPI_DOUBLE;
    case DType::I32: return MPI_INT32_T;
    case DType::I64: return MPI_INT64_T;
    case DType::U8: return MPI_UINT8_T;
  }
  return MPI_BYTE;
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return MPI_SUM;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

std::string mpi_error_string(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, buf, &len);
  return std::string(buf, static_cast<size_t>(len));
}

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// Where an operation ran, for messages: "all_reduce of 1048576 F32 on group 'dp' (rank 1 of 2, world rank 3)".
struct OpLabel {
  std::string text;
};

class MpiWork final : public Work {
 public:
  MpiWork(OpLabel label, double timeout_s) : label_(std::move(label)), timeout_s_(timeout_s) {}

  std::vector<MPI_Request> requests;   // completed requests become MPI_REQUEST_NULL
  std::vector<int> counts, displs;     // arguments MPI reads until completion
  std::string error;

  bool test() override {
    if (!error.empty()) return true;
    int done = 0;
    const int rc = MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) {
      error = mpi_error_string(rc);
      return true;
    }
    return done != 0;
  }

  void wait() override {
    // Spin briefly (the common, fast case), then poll with growing sleeps up to 1 ms so a
    // stuck peer does not burn the core, until the timeout.
    const auto start = Clock::now();
    int spins = 0;
    auto nap = std::chrono::microseconds(20);
    while (!test()) {
      if (++spins < 2000) continue;
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (timeout_s_ > 0 && waited > timeout_s_)
        PLINTH_THROW(Comm, label_.text, " did not complete within ", timeout_s_,
                     " s: a peer rank is lost or stuck (parallel.comm_timeout)");
      std::this_thread::sleep_for(nap);
      if (nap < std::chrono::microseconds(1000)) nap *= 2;
    }
    if (!error.empty()) PLINTH_THROW(Comm, label_.text, " failed: ", error);
  }

 private:
  OpLabel label_;
  double timeout_s_;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, std::string name, double timeout_s)
      : comm_(comm), name_(std::move(name)), timeout_s_(timeout_s), world_rank_(world_rank()) {
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::string& name() const override { return name_; }
  double timeout_s() const override { return timeout_s_; }

  std::unique_ptr<Work> all_reduce_async(void* buf, int64_t count, DType t, ReduceOp op) override {
    auto w = make_work(str_cat("all_reduce of ", count, " ", dtype_name(t)));
    // counts beyond INT_MAX go in chunks, each its own request
    const int64_t chunk = INT_MAX / 2;
    char* p = static_cast<char*>(buf);
    for (int64_t done = 0; done < count; done += chunk) {
      const int n = static_cast<int>(std::min(chunk, count - done));
      w->requests.emplace_back();
      check(MPI_Iallreduce(MPI_IN_PLACE, p + done * dtype_size(t), n, mpi_type(t), mpi_op(op), comm_,
                           &w->requests.back()), *w);
    }
    return w;
  }

  std::unique_ptr<Work> reduce_scatter_async(const void* send, void* recv, const std::vector<int64_t>& counts, DType t,
                                             ReduceOp op) override {
    auto w = make_work(str_cat("reduce_scatter of ", total(counts, "reduce_scatter"), " ", dtype_name(t)));
    w->counts = to_int(counts, "reduce_scatter");
    w->requests.emplace_back();
    check(MPI_Ireduce_scatter(send, recv, w->counts.data(), mpi_type(t), mpi_op(op), comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> all_gather_async(const void* send, void* recv, const std::vector<int64_t>& counts,
                                         DType t) override {
    auto w = make_work(str_cat("all_gather of ", total(counts, "all_gather"), " ", dtype_name(t)));
    w->counts = to_int(counts, "all_gather");
    w->displs.assign(w->counts.size(), 0);
    int64_t off = 0;
    for (size_t r = 0; r < w->counts.size(); ++r) {
      PLINTH_CHECK(off <= INT_MAX, Comm, "all_gather on group '", name_, "': displacement exceeds INT_MAX");
      w->displs[r] = static_cast<int>(off);
      off += w->counts[r];
    }
    w->requests.emplace_back();
    check(MPI_Iallgatherv(send, w->counts[static_cast<size_t>(rank_)], mpi_type(t), recv, w->counts.data(),
                          w->displs.data(), mpi_type(t), comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> broadcast_async(void* buf, int64_t count, DType t, int root) override {
    auto w = make_work(str_cat("broadcast of ", count, " ", dtype_name(t), " from rank ", root));
    PLINTH_CHECK(root >= 0 && root < size_, Comm, "broadcast on group '", name_, "': root ", root, " out of range");
    w->requests.emplace_back();
    check(MPI_Ibcast(buf, fits(count, "broadcast"), mpi_type(t), root, comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> send_async(const void* buf, int64_t count, DType t, int peer, int tag) override {
    auto w = make_work(str_cat("send of ", count, " ", dtype_name(t), " to rank ", peer, " (tag ", tag, ")"));
    w->requests.emplace_back();
    check(MPI_Isend(buf, fits(count, "send"), mpi_type(t), peer, tag, comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> recv_async(void* buf, int64_t count, DType t, int peer, int tag) override {
    auto w = make_work(str_cat("recv of ", count, " ", dtype_name(t), " from rank ", peer, " (tag ", tag, ")"));
    w->requests.emplace_back();
    check(MPI_Irecv(buf, fits(count, "recv"), mpi_type(t), peer, tag, comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> barrier_async() override {
    auto w = make_work("barrier");
    w->requests.emplace_back();
    check(MPI_Ibarrier(comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Communicator> split(int color, int key, const std::string& name) override {
    MPI_Comm sub = MPI_COMM_NULL;
    const int rc = MPI_Comm_split(comm_, color, key, &sub);
    PLINTH_CHECK(rc == MPI_SUCCESS, Comm, "split of group '", name_, "' into '", name, "' failed: ", mpi_error_string(rc));
    return std::make_unique<MpiCommunicator>(sub, name, timeout_s_);
  }

 private:
  std::unique_ptr<MpiWork> make_work(const std::string& what) {
    return std::make_unique<MpiWork>(
        OpLabel{str_cat(what, " on group '", name_, "' (rank ", rank_, " of ", size_, ", world rank ", world_rank_, ")")},
        timeout_s_);
  }
  void check(int rc, MpiWork& w) {
    if (rc != MPI_SUCCESS) w.error = mpi_error_string(rc);
  }
  int fits(int64_t count, const char* op) const {
    PLINTH_CHECK(count >= 0 && count <= INT_MAX, Comm, op, " on group '", name_, "': count ", count,
                 " exceeds what one MPI call takes (INT_MAX); split the buffer");
    return static_cast<int>(count);
  }
  int64_t total(const std::vector<int64_t>& counts, const char* op) const {
    PLINTH_CHECK(static_cast<int>(counts.size()) == size_, Comm, op, " on group '", name_, "': ", counts.size(),
                 " counts for a group of ", size_);
    int64_t s = 0;
    for (int64_t c : counts) s += c;
    return s;
  }
  std::vector<int> to_int(const std::vector<int64_t>& counts, const char* op) const {
    total(counts, op);
    std::vector<int> out;
    for (int64_t c : counts) out.push_back(fits(c, op));
    return out;
  }

  MPI_Comm comm_;
  std::string name_;
  double timeout_s_;
  int world_rank_;
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> mpi_world_communicator(double timeout_s) {
  MPI_Comm dup = MPI_COMM_NULL;
  const int rc = MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  PLINTH_CHECK(rc == MPI_SUCCESS, Comm, "MPI_Comm_dup(MPI_COMM_WORLD) failed: ", mpi_error_string(rc));
  return std::make_unique<MpiCommunicator>(dup, "world", timeout_s);
}

}  // namespace plinth::comm

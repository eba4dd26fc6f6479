// mpi_communicator.cpp -- non-blocking MPI collectives and point-to-point with a timeout.
#include "parallel/comm/mpi_communicator.h"

#include <mpi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
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

// Counts beyond INT_MAX are reduced in chunks of this many elements.
constexpr int64_t kChunk = INT_MAX / 2;

// In-place blocking all-reduce of any count (chunked).
int all_reduce_blocking(void* buf, int64_t count, DType t, ReduceOp op, MPI_Comm c) {
  char* p = static_cast<char*>(buf);
  for (int64_t done = 0; done < count; done += kChunk) {
    const int rc = MPI_Allreduce(MPI_IN_PLACE, p + done * dtype_size(t), static_cast<int>(std::min(kChunk, count - done)),
                                 mpi_type(t), mpi_op(op), c);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

// Where an operation ran, for messages: "all_reduce of 1048576 F32 on group 'dp' (rank 1 of 2, world rank 3)".
struct OpLabel {
  std::string text;
};

// What a communicator shares with its Works, which may outlive it.
struct GroupState {
  std::atomic<bool> stuck{false};   // an operation timed out: a peer is lost or stuck, and the
                                    // worker (if any) may be blocked in MPI for ever
};

// Ends the job when an MPI operation still owns a caller's buffer past the group's timeout and
// nothing can take the buffer back from MPI (a blocking call, a collective, a send MPI cannot
// cancel). With the comm watchdog, the one place below launch/ that ends the process.
[[noreturn]] void abort_job(const char* what) noexcept {
  std::fprintf(stderr, "[plinth] error: communication error: %s; aborting the job\n", what);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();   // MPI_Abort does not return
}

std::string timeout_text(const std::string& label, double timeout_s) {
  return str_cat(label, " did not complete within ", timeout_s,
                 " s: a peer rank is lost or stuck (parallel.comm_timeout)");
}

// Why a destroyed Work ends the job: it is still running and owns the caller's buffer.
[[noreturn]] void abort_abandoned(const std::string& label, double timeout_s, bool group_stuck) noexcept {
  std::string what;
  try {
    what = str_cat(group_stuck ? str_cat(label, " cannot complete: an operation on its group did not complete within ",
                                         timeout_s, " s: a peer rank is lost or stuck (parallel.comm_timeout)")
                               : timeout_text(label, timeout_s),
                   "; its Work was destroyed (an error is unwinding) while MPI still owns its buffer");
  } catch (...) {
    what = "an MPI operation whose Work was destroyed did not complete";
  }
  abort_job(what.c_str());
}

// Kinds of MPI request, for what a destroyed Work may do: only a receive can be cancelled.
enum class OpKind { Collective, Send, Recv };

class MpiWork final : public Work {
 public:
  MpiWork(OpLabel label, OpKind kind, double timeout_s, std::shared_ptr<GroupState> group)
      : label_(std::move(label)), kind_(kind), timeout_s_(timeout_s), group_(std::move(group)) {}
  // Destroyed before completion: a receive is cancelled (MPI 3.1 sec. 3.8.4: the cancelled
  // request then completes locally, either cancelled or with its whole message received); a
  // collective or a send is waited for with the group's timeout (at once given up when the
  // group already timed out), then a send is offered to MPI_Cancel (Open MPI declines); if
  // MPI still holds the buffer after that, the job is aborted rather than let MPI touch memory
  // the caller is about to free.
  ~MpiWork() override {
    if (!pending()) return;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;   // MPI is gone, and with it every request
    if (kind_ == OpKind::Recv) {
      cancel_all();
      if (settle(timeout_s_)) return;
    } else {
      if (!group_->stuck.load() && settle(timeout_s_)) return;
      if (kind_ == OpKind::Send) {
        cancel_all();
        if (settle(1.0)) return;
      }
    }
    abort_abandoned(label_.text, timeout_s_, group_->stuck.load());
  }

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
    // Poll (MPI makes progress on non-blocking collectives inside MPI_Test), checking the
    // clock every 256 polls; after the first second yield the core between polls so that a
    // stuck peer on an oversubscribed node can still run. Never sleep: a sleeping waiter
    // stalls the collective's progress.
    const auto start = Clock::now();
    int64_t polls = 0;
    while (!test()) {
      if (++polls % 256 != 0) continue;
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (timeout_s_ > 0 && waited > timeout_s_) {
        group_->stuck.store(true);
        PLINTH_THROW(Comm, timeout_text(label_.text, timeout_s_));
      }
      if (waited > 1.0) std::this_thread::yield();
    }
    if (!error.empty()) PLINTH_THROW(Comm, label_.text, " failed: ", error);
  }

 private:
  bool pending() const {
    return std::any_of(requests.begin(), requests.end(), [](MPI_Request r) { return r != MPI_REQUEST_NULL; });
  }
  void cancel_all() noexcept {
    for (MPI_Request& r : requests)
      if (r != MPI_REQUEST_NULL) MPI_Cancel(&r);
  }
  // Polls every request until none is pending or timeout_s (<= 0: no limit) has passed; a
  // request whose test fails is finished as far as MPI's use of the buffer goes.
  bool settle(double timeout_s) noexcept {
    const auto start = Clock::now();
    for (int64_t polls = 1;; ++polls) {
      for (MPI_Request& r : requests) {
        if (r == MPI_REQUEST_NULL) continue;
        int flag = 0;
        if (MPI_Test(&r, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS) r = MPI_REQUEST_NULL;
      }
      if (!pending()) return true;
      if (polls % 256 != 0) continue;
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (timeout_s > 0 && waited > timeout_s) return false;
      if (waited > 1.0) std::this_thread::yield();
    }
  }

  OpLabel label_;
  OpKind kind_;
  double timeout_s_;
  std::shared_ptr<GroupState> group_;
};

// ---- collectives on a worker thread (when MPI provides MPI_THREAD_MULTIPLE) ----
// Open MPI's non-blocking collectives (libnbc) reach a fraction of the bandwidth of its tuned
// blocking ones and progress only inside MPI calls. Like PyTorch's MPI backend, each
// communicator runs its collectives, in issue order, as blocking MPI calls on one worker
// thread; Work::wait() waits for that thread with the group's timeout. Point-to-point stays
// non-blocking on the caller's thread (a blocking receive queued before a send would deadlock).
struct TaskState {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;                   // guarded by m
  std::atomic<bool> done_flag{false};  // the same, readable without the lock (spin phase)
  std::string error;
};

// The waiting caller polls (yielding its core) before it sleeps: a futex wake-up costs
// microseconds, which is much of a small collective.
// On an oversubscribed node (more local ranks than cores) polling steals cycles from the ranks
// doing work, so the caller sleeps at once.
constexpr int kSpinPolls = 2000;

int spin_polls_for_this_node() {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const unsigned cores = std::thread::hardware_concurrency();
  if (local && cores > 0 && static_cast<unsigned>(std::atoi(local)) > cores) return 0;
  return kSpinPolls;
}

class ThreadWork final : public Work {
 public:
  ThreadWork(std::shared_ptr<TaskState> st, OpLabel label, double timeout_s, std::shared_ptr<GroupState> group,
             int spin_polls)
      : st_(std::move(st)), label_(std::move(label)), timeout_s_(timeout_s), group_(std::move(group)),
        spin_polls_(spin_polls) {}
  // Destroyed before completion: the worker still owns the buffer (queued or inside a blocking
  // MPI call that nothing can interrupt). Wait for it with the group's timeout (not at all when
  // the group already timed out); if it has not finished by then, abort the job.
  ~ThreadWork() override {
    if (st_->done_flag.load(std::memory_order_acquire)) return;
    const bool stuck = group_->stuck.load();
    if (!stuck) {
      std::unique_lock<std::mutex> lock(st_->m);
      auto ready = [&] { return st_->done; };
      if (timeout_s_ <= 0) {
        st_->cv.wait(lock, ready);
        return;
      }
      if (st_->cv.wait_for(lock, std::chrono::duration<double>(timeout_s_), ready)) return;
    }
    abort_abandoned(label_.text, timeout_s_, stuck);
  }
  void wait() override {
    // Poll with yields first (the worker may need this core), then sleep on the condition.
    // The deadline is fixed before polling and checked while polling: when other threads are
    // busy one yield can give the core away for a whole time slice (2000 of them took 3.7 s
    // on 2 cores), and that time must count against the timeout, not be added to it.
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_));
    for (int i = 0; i < spin_polls_ && !st_->done_flag.load(std::memory_order_acquire); ++i) {
      std::this_thread::yield();
      if (timeout_s_ > 0 && i % 8 == 7 && Clock::now() > deadline) break;
    }
    std::unique_lock<std::mutex> lock(st_->m);
    auto ready = [&] { return st_->done; };
    if (timeout_s_ > 0) {
      if (!st_->cv.wait_until(lock, deadline, ready)) {
        group_->stuck.store(true);
        PLINTH_THROW(Comm, timeout_text(label_.text, timeout_s_));
      }
    } else {
      st_->cv.wait(lock, ready);
    }
    if (!st_->error.empty()) PLINTH_THROW(Comm, label_.text, " failed: ", st_->error);
  }
  bool test() override { return st_->done_flag.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<TaskState> st_;
  OpLabel label_;
  double timeout_s_;
  std::shared_ptr<GroupState> group_;
  int spin_polls_;
};

// The queue lives in a State shared with the worker thread: a worker abandoned after a timeout
// (its thread blocked in MPI, perhaps for ever) is detached, and the thread keeps the State
// alive, so nothing it touches is destroyed under it when the communicator goes away.
class CollectiveWorker {
 public:
  ~CollectiveWorker() { stop(); }
  // True when no collective is queued or running: the caller may run one itself.
  bool idle() const { return st_->outstanding.load(std::memory_order_acquire) == 0; }

  std::shared_ptr<TaskState> submit(std::function<int()> fn) {
    auto task = std::make_shared<TaskState>();
    st_->outstanding.fetch_add(1, std::memory_order_acq_rel);
    {
      std::lock_guard<std::mutex> lock(st_->m);
      if (!thread_.joinable()) thread_ = std::thread([st = st_] { loop(*st); });
      st_->queue.emplace_back(std::move(fn), task);
    }
    st_->cv.notify_one();
    return task;
  }
  // Stops the thread once its queue is drained; `abandon` detaches it instead of joining (a
  // collective timed out and may never return).
  void stop(bool abandon = false) {
    {
      std::lock_guard<std::mutex> lock(st_->m);
      st_->stopping = true;
    }
    st_->cv.notify_one();
    if (thread_.joinable()) {
      if (abandon) thread_.detach();
      else thread_.join();
    }
  }

 private:
  struct State {
    std::mutex m;
    std::condition_variable cv;
    std::deque<std::pair<std::function<int()>, std::shared_ptr<TaskState>>> queue;   // guarded by m
    bool stopping = false;                                                            // guarded by m
    std::atomic<int> outstanding{0};   // queued or running
  };

  static void loop(State& st) {
    for (;;) {
      std::pair<std::function<int()>, std::shared_ptr<TaskState>> task;
      {
        std::unique_lock<std::mutex> lock(st.m);
        st.cv.wait(lock, [&] { return st.stopping || !st.queue.empty(); });
        if (st.queue.empty()) return;   // stopping, nothing left
        task = std::move(st.queue.front());
        st.queue.pop_front();
      }
      const int rc = task.first();
      {
        std::lock_guard<std::mutex> lock(task.second->m);
        if (rc != MPI_SUCCESS) task.second->error = mpi_error_string(rc);
        task.second->done = true;
        task.second->done_flag.store(true, std::memory_order_release);
      }
      st.outstanding.fetch_sub(1, std::memory_order_acq_rel);
      task.second->cv.notify_all();
    }
  }

  std::shared_ptr<State> st_ = std::make_shared<State>();
  std::thread thread_;
};

// Guards a blocking MPI call made on the caller's thread: if it has not returned by the
// deadline, the watchdog prints an error naming the operation, group and rank, and aborts the
// job (a blocking MPI call cannot be interrupted, and a hang must not outlive the timeout).
// With abort_job's other caller (a destroyed Work that MPI still owns), the one place below
// launch/ that ends the process, on purpose. Arming costs two
// atomic stores and a label copy; the watchdog thread wakes a few times per timeout period.
class Watchdog {
 public:
  ~Watchdog() {
    quit_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  void arm(const std::string& label, double timeout_s) {
    if (!thread_.joinable()) {
      timeout_s_ = timeout_s;
      thread_ = std::thread([this] { loop(); });
    }
    std::snprintf(label_.data(), label_.size(), "%s", label.c_str());
    armed_at_.store(now_ns(), std::memory_order_release);
  }
  void disarm() { armed_at_.store(0, std::memory_order_release); }

 private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  }
  void loop() {
    const auto period = std::chrono::duration<double>(std::min(0.25, timeout_s_ / 8));
    while (!quit_.load()) {
      std::this_thread::sleep_for(period);
      const int64_t t = armed_at_.load(std::memory_order_acquire);
      if (t == 0 || static_cast<double>(now_ns() - t) * 1e-9 <= timeout_s_) continue;
      char what[512];
      std::snprintf(what, sizeof what, "%s did not complete within %g s: a peer rank is lost or stuck "
                    "(parallel.comm_timeout)", label_.data(), timeout_s_);
      abort_job(what);
    }
  }

  std::thread thread_;
  std::atomic<bool> quit_{false};
  std::atomic<int64_t> armed_at_{0};   // ns since the clock's epoch when armed, 0 = disarmed
  std::array<char, 256> label_{};
  double timeout_s_ = 0;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, std::string name, double timeout_s)
      : comm_(comm), name_(std::move(name)), timeout_s_(timeout_s), world_rank_(world_rank()) {
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    threaded_ = provided == MPI_THREAD_MULTIPLE;
    // MPI_TAG_UB is attached to MPI_COMM_WORLD; MPI guarantees at least kTagMax, and every tag
    // plinth uses lies below that (tags.h), so a smaller bound is a broken MPI, refused here.
    void* attr = nullptr;
    int found = 0;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &attr, &found);
    if (found && attr) tag_ub_ = *static_cast<int*>(attr);
    PLINTH_CHECK(tag_ub_ >= kTagMax, Comm, "this MPI's MPI_TAG_UB is ", tag_ub_, ", below the ", kTagMax,
                 " the MPI standard guarantees and plinth's tags need (parallel/comm/tags.h)");
  }
  ~MpiCommunicator() override {
    // A timed-out collective that has since completed (the late peer joined) leaves the worker
    // idle: join it and free the communicator. One still blocked is abandoned, and its MPI_Comm
    // is leaked on purpose (freeing it under a pending call is undefined).
    const bool abandon = group_->stuck.load() && !worker_.idle();
    worker_.stop(abandon);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && !abandon) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::string& name() const override { return name_; }
  double timeout_s() const override { return timeout_s_; }
  int tag_ub() const override { return tag_ub_; }

  // Blocking collectives run on the calling thread when the worker is idle (no hand-off cost),
  // guarded by the watchdog; otherwise they queue behind the worker's collectives.
  void all_reduce(void* buf, int64_t count, DType t, ReduceOp op) override {
    if (!inline_ok()) return Communicator::all_reduce(buf, count, t, op);
    run_inline(str_cat("all_reduce of ", count, " ", dtype_name(t)),
               [&] { return all_reduce_blocking(buf, count, t, op, comm_); });
  }
  void broadcast(void* buf, int64_t count, DType t, int root) override {
    if (!inline_ok()) return Communicator::broadcast(buf, count, t, root);
    PLINTH_CHECK(root >= 0 && root < size_, Comm, "broadcast on group '", name_, "': root ", root, " out of range");
    const int n = fits(count, "broadcast");
    run_inline(str_cat("broadcast of ", count, " ", dtype_name(t), " from rank ", root),
               [&] { return MPI_Bcast(buf, n, mpi_type(t), root, comm_); });
  }
  void reduce_scatter(const void* send, void* recv, const std::vector<int64_t>& counts, DType t, ReduceOp op) override {
    if (!inline_ok()) return Communicator::reduce_scatter(send, recv, counts, t, op);
    const std::string what = str_cat("reduce_scatter of ", total(counts, "reduce_scatter"), " ", dtype_name(t));
    const std::vector<int> n = to_int(counts, "reduce_scatter");
    run_inline(what, [&] { return MPI_Reduce_scatter(send, recv, n.data(), mpi_type(t), mpi_op(op), comm_); });
  }
  void all_gather(const void* send, void* recv, const std::vector<int64_t>& counts, DType t) override {
    if (!inline_ok()) return Communicator::all_gather(send, recv, counts, t);
    const std::string what = str_cat("all_gather of ", total(counts, "all_gather"), " ", dtype_name(t));
    const auto [n, d] = gather_layout(counts);
    run_inline(what, [&] {
      return MPI_Allgatherv(send, n[static_cast<size_t>(rank_)], mpi_type(t), recv, n.data(), d.data(), mpi_type(t), comm_);
    });
  }

  std::unique_ptr<Work> all_reduce_async(void* buf, int64_t count, DType t, ReduceOp op) override {
    if (threaded_) {
      return on_worker(str_cat("all_reduce of ", count, " ", dtype_name(t)),
                       [=, c = comm_] { return all_reduce_blocking(buf, count, t, op, c); });
    }
    auto w = make_work(str_cat("all_reduce of ", count, " ", dtype_name(t)));
    // counts beyond what one MPI call takes go in chunks, each its own request
    char* p = static_cast<char*>(buf);
    for (int64_t done = 0; done < count; done += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, count - done));
      w->requests.push_back(MPI_REQUEST_NULL);
      check(MPI_Iallreduce(MPI_IN_PLACE, p + done * dtype_size(t), n, mpi_type(t), mpi_op(op), comm_,
                           &w->requests.back()), *w);
    }
    return w;
  }

  std::unique_ptr<Work> reduce_scatter_async(const void* send, void* recv, const std::vector<int64_t>& counts, DType t,
                                             ReduceOp op) override {
    const std::string what = str_cat("reduce_scatter of ", total(counts, "reduce_scatter"), " ", dtype_name(t));
    if (threaded_)
      return on_worker(what, [=, c = comm_, n = to_int(counts, "reduce_scatter")] {
        return MPI_Reduce_scatter(send, recv, n.data(), mpi_type(t), mpi_op(op), c);
      });
    auto w = make_work(what);
    w->counts = to_int(counts, "reduce_scatter");
    w->requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Ireduce_scatter(send, recv, w->counts.data(), mpi_type(t), mpi_op(op), comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> all_gather_async(const void* send, void* recv, const std::vector<int64_t>& counts,
                                         DType t) override {
    const std::string what = str_cat("all_gather of ", total(counts, "all_gather"), " ", dtype_name(t));
    auto [n, d] = gather_layout(counts);
    if (threaded_)
      return on_worker(what, [=, c = comm_, n = n, d = d, me = rank_] {
        return MPI_Allgatherv(send, n[static_cast<size_t>(me)], mpi_type(t), recv, n.data(), d.data(), mpi_type(t), c);
      });
    auto w = make_work(what);
    w->counts = std::move(n);
    w->displs = std::move(d);
    w->requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Iallgatherv(send, w->counts[static_cast<size_t>(rank_)], mpi_type(t), recv, w->counts.data(),
                          w->displs.data(), mpi_type(t), comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> broadcast_async(void* buf, int64_t count, DType t, int root) override {
    auto w = make_work(str_cat("broadcast of ", count, " ", dtype_name(t), " from rank ", root));
    PLINTH_CHECK(root >= 0 && root < size_, Comm, "broadcast on group '", name_, "': root ", root, " out of range");
    if (threaded_) {
      const int n = fits(count, "broadcast");
      return on_worker(str_cat("broadcast of ", count, " ", dtype_name(t), " from rank ", root),
                       [=, c = comm_] { return MPI_Bcast(buf, n, mpi_type(t), root, c); });
    }
    w->requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Ibcast(buf, fits(count, "broadcast"), mpi_type(t), root, comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> send_async(const void* buf, int64_t count, DType t, int peer, int tag) override {
    check_tag(tag, "send", peer);
    auto w = make_work(str_cat("send of ", count, " ", dtype_name(t), " to rank ", peer, " (tag ", tag, ")"), OpKind::Send);
    w->requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Isend(buf, fits(count, "send"), mpi_type(t), peer, tag, comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> recv_async(void* buf, int64_t count, DType t, int peer, int tag) override {
    check_tag(tag, "recv", peer);
    auto w = make_work(str_cat("recv of ", count, " ", dtype_name(t), " from rank ", peer, " (tag ", tag, ")"), OpKind::Recv);
    w->requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Irecv(buf, fits(count, "recv"), mpi_type(t), peer, tag, comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Work> barrier_async() override {
    if (threaded_) return on_worker("barrier", [c = comm_] { return MPI_Barrier(c); });
    auto w = make_work("barrier");
    w->requests.push_back(MPI_REQUEST_NULL);
    check(MPI_Ibarrier(comm_, &w->requests.back()), *w);
    return w;
  }

  std::unique_ptr<Communicator> split(int color, int key, const std::string& name) override {
    MPI_Comm sub = MPI_COMM_NULL;
    int rc = MPI_SUCCESS;
    if (threaded_) {   // a collective on comm_: it must queue behind the worker's collectives
      on_worker(str_cat("split into '", name, "'"), [&, c = comm_] {
        rc = MPI_Comm_split(c, color, key, &sub);
        return rc;
      })->wait();
    } else {
      rc = MPI_Comm_split(comm_, color, key, &sub);
    }
    PLINTH_CHECK(rc == MPI_SUCCESS, Comm, "split of group '", name_, "' into '", name, "' failed: ", mpi_error_string(rc));
    return std::make_unique<MpiCommunicator>(sub, name, timeout_s_);
  }

 private:
  bool inline_ok() const { return threaded_ && worker_.idle(); }

  template <typename Fn>
  void run_inline(const std::string& what, Fn&& fn) {
    const std::string label =
        str_cat(what, " on group '", name_, "' (rank ", rank_, " of ", size_, ", world rank ", world_rank_, ")");
    if (timeout_s_ > 0) watchdog_.arm(label, timeout_s_);
    const int rc = fn();
    if (timeout_s_ > 0) watchdog_.disarm();
    PLINTH_CHECK(rc == MPI_SUCCESS, Comm, label, " failed: ", mpi_error_string(rc));
  }

  std::unique_ptr<Work> on_worker(const std::string& what, std::function<int()> fn) {
    return std::make_unique<ThreadWork>(
        worker_.submit(std::move(fn)),
        OpLabel{str_cat(what, " on group '", name_, "' (rank ", rank_, " of ", size_, ", world rank ", world_rank_, ")")},
        timeout_s_, group_, spin_polls_);
  }

  std::unique_ptr<MpiWork> make_work(const std::string& what, OpKind kind = OpKind::Collective) {
    return std::make_unique<MpiWork>(
        OpLabel{str_cat(what, " on group '", name_, "' (rank ", rank_, " of ", size_, ", world rank ", world_rank_, ")")},
        kind, timeout_s_, group_);
  }
  // After the call that started w's last request: a request that did not start is no request.
  void check(int rc, MpiWork& w) {
    if (rc == MPI_SUCCESS) return;
    w.error = mpi_error_string(rc);
    w.requests.back() = MPI_REQUEST_NULL;
  }
  void check_tag(int tag, const char* op, int peer) const {
    PLINTH_CHECK(tag >= 0 && tag <= tag_ub_, Comm, op, " on group '", name_, "' with peer ", peer, ": tag ", tag,
                 " outside [0, MPI_TAG_UB = ", tag_ub_, "] (parallel/comm/tags.h)");
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
  // Per-rank counts and displacements of an all-gather, as MPI's ints.
  std::pair<std::vector<int>, std::vector<int>> gather_layout(const std::vector<int64_t>& counts) const {
    std::vector<int> n = to_int(counts, "all_gather"), d(n.size(), 0);
    int64_t off = 0;
    for (size_t r = 0; r < n.size(); ++r) {
      PLINTH_CHECK(off <= INT_MAX, Comm, "all_gather on group '", name_, "': displacement exceeds INT_MAX");
      d[r] = static_cast<int>(off);
      off += n[r];
    }
    return {std::move(n), std::move(d)};
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
  bool threaded_ = false;   // collectives on worker_ (MPI_THREAD_MULTIPLE available)
  int tag_ub_ = kTagMax;    // MPI_TAG_UB
  std::shared_ptr<GroupState> group_ = std::make_shared<GroupState>();
  int spin_polls_ = spin_polls_for_this_node();
  CollectiveWorker worker_;
  Watchdog watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> mpi_world_communicator(double timeout_s) {
  MPI_Comm dup = MPI_COMM_NULL;
  const int rc = MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  PLINTH_CHECK(rc == MPI_SUCCESS, Comm, "MPI_Comm_dup(MPI_COMM_WORLD) failed: ", mpi_error_string(rc));
  return std::make_unique<MpiCommunicator>(dup, "world", timeout_s);
}

}  // namespace plinth::comm

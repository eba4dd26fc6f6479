// mpi_check.h -- a tiny harness for MPI tests: checks record failures locally; each case's
// verdict is agreed across ranks (all-reduce) before it is reported, so a failing rank never
// leaves the others waiting in a collective. Ends with "N passed, N failed".
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "parallel/comm/communicator.h"

namespace plinth::testing {

class MpiCases {
 public:
  explicit MpiCases(comm::Communicator& world) : world_(world) {}

  void check(bool ok, const std::string& what) {
    if (!ok && failure_.empty()) failure_ = what;
  }

  void run(const std::string& name, const std::function<void()>& body) {
    failure_.clear();
    try {
      body();
    } catch (const std::exception& e) {
      failure_ = std::string("threw: ") + e.what();
    }
    int32_t bad = failure_.empty() ? 0 : 1;
    world_.all_reduce(&bad, 1, comm::DType::I32, comm::ReduceOp::Max);
    if (!failure_.empty())
      std::printf("[rank %d] FAIL %s: %s\n", world_.rank(), name.c_str(), failure_.c_str());
    else if (world_.rank() == 0)
      std::printf("[rank 0] %s %s\n", bad ? "FAIL" : "ok  ", name.c_str());
    std::fflush(stdout);
    (bad ? failed_ : passed_)++;
  }

  int finish() {
    if (world_.rank() == 0) std::printf("%d passed, %d failed\n", passed_, failed_);
    return failed_ == 0 ? 0 : 1;
  }

 private:
  comm::Communicator& world_;
  std::string failure_;
  int passed_ = 0, failed_ = 0;
};

}  // namespace plinth::testing

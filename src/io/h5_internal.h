// h5_internal.h -- helpers shared by the h5 wrapper's source files (not for other code).
#pragma once
#include <hdf5.h>

#include <mutex>
#include <string>

#include "core/error.h"
#include "io/h5.h"

namespace plinth::io::h5::internal {

// Serialises every call into the HDF5 library (not built thread-safe; see h5.cpp).
std::recursive_mutex& api_mutex();
using ApiLock = std::lock_guard<std::recursive_mutex>;

// Helpers below: call them with api_mutex() held (the public functions of h5.h take it).
// Throws `kind` naming `what` (and HDF5's error stack) when `status` is negative.
herr_t check_status(herr_t status, ErrorKind kind, const std::string& what);
// Wraps a new id (throwing as above when it is negative) with its closer.
Handle make_handle(hid_t id, Handle::Closer closer, ErrorKind kind, const std::string& what);
hid_t file_type_of(Dtype t);

}  // namespace plinth::io::h5::internal

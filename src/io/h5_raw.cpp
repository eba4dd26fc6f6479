// h5_raw.cpp -- where a dataset's bytes lie in its file (h5.h, "Raw storage"), so that a reader
// can pread(2) them without the HDF5 library and without its process-wide lock: the corpus
// window reads, which must not wait behind an asynchronous checkpoint write.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/h5.h"
#include "io/h5_internal.h"

// ---- Raw storage (see h5.h) ---------------------------------------------------------------
namespace plinth::io::h5 {
namespace {

std::optional<RawLayout> no_raw(std::string* why_not, std::string reason) {
  if (why_not) *why_not = std::move(reason);
  return std::nullopt;
}

Handle file_of(const Object& obj) {
  return internal::make_handle(H5Iget_file_id(obj.id()), H5Fclose, ErrorKind::Input,
                               obj.where() + ": cannot get its file");
}

// One segment per chunk, merged where consecutive chunks are adjacent in the file.
std::optional<RawLayout> chunked_segments(const Dataset& ds, hid_t dcpl, int64_t n, RawLayout out,
                                          std::string* why_not) {
  hsize_t chunk = 0;
  if (H5Pget_chunk(dcpl, 1, &chunk) != 1 || chunk == 0) return no_raw(why_not, "unreadable chunk shape");
  const int64_t c = static_cast<int64_t>(chunk), bytes = c * out.element_size;
  for (int64_t first = 0; first < n; first += c) {
    hsize_t coord = static_cast<hsize_t>(first), size = 0;
    unsigned mask = 0;
    haddr_t addr = HADDR_UNDEF;
    internal::check_status(H5Dget_chunk_info_by_coord(ds.id(), &coord, &mask, &addr, &size), ErrorKind::Input,
                           ds.where() + ": cannot locate a chunk");
    if (addr == HADDR_UNDEF) return no_raw(why_not, str_cat("the chunk at element ", first, " is not allocated"));
    if (mask != 0 || static_cast<int64_t>(size) != bytes)
      return no_raw(why_not, str_cat("the chunk at element ", first, " is filtered or not ", bytes, " bytes"));
    const int64_t count = std::min(c, n - first), offset = static_cast<int64_t>(addr);
    RawSegment* last = out.segments.empty() ? nullptr : &out.segments.back();
    if (last && last->offset + last->count * out.element_size == offset) last->count += count;
    else out.segments.push_back({first, count, offset});
  }
  return out;
}

}  // namespace

std::optional<RawLayout> raw_layout(const Dataset& ds, std::string* why_not) {
  const internal::ApiLock api_lock(internal::api_mutex());
  const std::string what = ds.where();
  const std::vector<int64_t> dims = ds.dims();
  if (dims.size() != 1) return no_raw(why_not, "not a 1-D dataset");
  Handle type = internal::make_handle(H5Dget_type(ds.id()), H5Tclose, ErrorKind::Input, what);
  const size_t size = H5Tget_size(type.id());
  const H5T_order_t order = H5Tget_order(type.id());
  if (H5Tget_class(type.id()) != H5T_INTEGER || (size != 1 && size != 2 && size != 4 && size != 8) ||
      H5Tget_precision(type.id()) != 8 * size || H5Tget_offset(type.id()) != 0 ||
      (order != H5T_ORDER_LE && order != H5T_ORDER_BE))
    return no_raw(why_not, "not a plain little- or big-endian integer type");
  Handle file = file_of(ds);
  Handle fcpl = internal::make_handle(H5Fget_create_plist(file.id()), H5Pclose, ErrorKind::Input, what);
  hsize_t userblock = 0;
  internal::check_status(H5Pget_userblock(fcpl.id(), &userblock), ErrorKind::Input, what);
  if (userblock != 0) return no_raw(why_not, "the file has a user block");
  Handle dcpl = internal::make_handle(H5Dget_create_plist(ds.id()), H5Pclose, ErrorKind::Input, what);
  if (H5Pget_nfilters(dcpl.id()) != 0) return no_raw(why_not, "the dataset has filters (compression)");
  if (H5Pget_external_count(dcpl.id()) != 0) return no_raw(why_not, "the dataset is stored in external files");

  RawLayout out;
  out.element_size = static_cast<int64_t>(size);
  out.order = order == H5T_ORDER_BE ? ByteOrder::Big : ByteOrder::Little;
  const int64_t n = dims[0];
  if (n == 0) return out;
  const H5D_layout_t layout = H5Pget_layout(dcpl.id());
  if (layout == H5D_CHUNKED) return chunked_segments(ds, dcpl.id(), n, std::move(out), why_not);
  if (layout != H5D_CONTIGUOUS) return no_raw(why_not, "compact or virtual storage");
  const haddr_t addr = H5Dget_offset(ds.id());
  if (addr == HADDR_UNDEF) {
    take_error_stack();
    return no_raw(why_not, "storage not allocated");
  }
  out.segments.push_back({0, n, static_cast<int64_t>(addr)});
  return out;
}

int raw_file_descriptor(const Object& obj, std::string* why_not) {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle file = file_of(obj);
  Handle fapl = internal::make_handle(H5Fget_access_plist(file.id()), H5Pclose, ErrorKind::Input, obj.where());
  if (H5Pget_driver(fapl.id()) != H5FD_SEC2) {
    if (why_not) *why_not = "the file is not open with the default (sec2) driver";
    return -1;
  }
  void* handle = nullptr;
  internal::check_status(H5Fget_vfd_handle(file.id(), fapl.id(), &handle), ErrorKind::Input,
                         obj.where() + ": cannot get the file descriptor");
  const int fd = ::fcntl(*static_cast<int*>(handle), F_DUPFD_CLOEXEC, 0);
  PLINTH_CHECK(fd >= 0, Io, obj.where(), ": cannot duplicate the file descriptor: ", std::strerror(errno));
  return fd;
}

}  // namespace plinth::io::h5

// h5_virtual.cpp -- HDF5 virtual datasets: creating one from mappings onto datasets in other
// files, and listing a virtual dataset's mappings (so a reader can check that every source
// exists before trusting the virtual view, which HDF5 would silently fill).
#include <cmath>
#include <limits>

#include "io/h5.h"
#include "io/h5_internal.h"

namespace plinth::io::h5 {

using internal::check_status;
using internal::make_handle;

Dataset Group::create_virtual_dataset(const std::string& name, Dtype type, const std::vector<int64_t>& dims,
                                      const std::vector<VirtualMapping>& mappings) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  const std::string what = str_cat(where(), ": cannot create virtual dataset '", name, "'");
  const int rank = static_cast<int>(dims.size());
  PLINTH_CHECK(rank > 0, Internal, what, ": a virtual dataset needs at least one dimension");
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle vspace = make_handle(H5Screate_simple(rank, d.data(), nullptr), H5Sclose, ErrorKind::Io, what);
  Handle dcpl = make_handle(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, ErrorKind::Io, what);
  if (type == Dtype::F32) {
    const float nan = std::numeric_limits<float>::quiet_NaN();   // holes are obvious, never zeros
    check_status(H5Pset_fill_value(dcpl.id(), H5T_NATIVE_FLOAT, &nan), ErrorKind::Io, what);
  }
  for (const VirtualMapping& m : mappings) {
    PLINTH_CHECK(m.start.size() == dims.size() && m.count.size() == dims.size(), Internal, what,
                 ": mapping of rank ", m.start.size(), " onto a dataset of rank ", rank);
    std::vector<hsize_t> start(m.start.begin(), m.start.end()), count(m.count.begin(), m.count.end());
    for (int i = 0; i < rank; ++i)
      PLINTH_CHECK(m.start[i] >= 0 && m.count[i] > 0 && m.start[i] + m.count[i] <= dims[i], Internal, what,
                   ": mapping of '", m.file, ":", m.dataset, "' falls outside the dataset");
    check_status(H5Sselect_hyperslab(vspace.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
                 ErrorKind::Io, what);
    Handle sspace = make_handle(H5Screate_simple(rank, count.data(), nullptr), H5Sclose, ErrorKind::Io, what);
    check_status(H5Pset_virtual(dcpl.id(), vspace.id(), m.file.c_str(), m.dataset.c_str(), sspace.id()),
                 ErrorKind::Io, what);
  }
  check_status(H5Sselect_all(vspace.id()), ErrorKind::Io, what);
  Handle lcpl = make_handle(H5Pcreate(H5P_LINK_CREATE), H5Pclose, ErrorKind::Io, what);
  check_status(H5Pset_create_intermediate_group(lcpl.id(), 1), ErrorKind::Io, what);
  Handle ds = make_handle(H5Dcreate2(id(), name.c_str(), internal::file_type_of(type), vspace.id(), lcpl.id(),
                                     dcpl.id(), H5P_DEFAULT),
                          H5Dclose, ErrorKind::Io, what);
  return Dataset(std::move(ds), file_, child_path(name));
}

bool Dataset::is_virtual() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle dcpl = make_handle(H5Dget_create_plist(id()), H5Pclose, ErrorKind::Input, where());
  return H5Pget_layout(dcpl.id()) == H5D_VIRTUAL;
}

std::vector<VirtualMapping> Dataset::virtual_mappings() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  const std::string what = str_cat(where(), ": cannot read its virtual mappings");
  Handle dcpl = make_handle(H5Dget_create_plist(id()), H5Pclose, ErrorKind::Input, what);
  PLINTH_CHECK(H5Pget_layout(dcpl.id()) == H5D_VIRTUAL, Input, where(), " is not a virtual dataset");
  size_t n = 0;
  check_status(H5Pget_virtual_count(dcpl.id(), &n), ErrorKind::Input, what);
  std::vector<VirtualMapping> out;
  for (size_t i = 0; i < n; ++i) {
    VirtualMapping m;
    auto text = [&](ssize_t (*get)(hid_t, size_t, char*, size_t)) {
      const ssize_t len = get(dcpl.id(), i, nullptr, 0);
      check_status(static_cast<herr_t>(len < 0 ? -1 : 0), ErrorKind::Input, what);
      std::string s(static_cast<size_t>(len) + 1, '\0');
      get(dcpl.id(), i, s.data(), s.size());
      s.resize(static_cast<size_t>(len));
      return s;
    };
    m.file = text(H5Pget_virtual_filename);
    m.dataset = text(H5Pget_virtual_dsetname);
    Handle vspace = make_handle(H5Pget_virtual_vspace(dcpl.id(), i), H5Sclose, ErrorKind::Input, what);
    const int rank = H5Sget_simple_extent_ndims(vspace.id());
    check_status(static_cast<herr_t>(rank < 0 ? -1 : 0), ErrorKind::Input, what);
    std::vector<hsize_t> start(static_cast<size_t>(rank)), end(static_cast<size_t>(rank));
    check_status(H5Sget_select_bounds(vspace.id(), start.data(), end.data()), ErrorKind::Input, what);
    for (int k = 0; k < rank; ++k) {
      m.start.push_back(static_cast<int64_t>(start[static_cast<size_t>(k)]));
      m.count.push_back(static_cast<int64_t>(end[static_cast<size_t>(k)] - start[static_cast<size_t>(k)] + 1));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace plinth::io::h5

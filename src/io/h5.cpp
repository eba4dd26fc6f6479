// h5.cpp -- RAII handles and checked wrappers over the HDF5 C API (see h5.h).
// A failing call is reported as plinth::Error naming the file and object plus HDF5's own
// error stack (walked from the outermost call inwards), never printed by HDF5 itself.
// Numeric datasets and attributes are stored little-endian regardless of the host.
#include "io/h5.h"
#include "io/fs_util.h"
#include "io/h5_internal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace plinth::io::h5 {

// Debian's HDF5 is built without --enable-threadsafe, and an asynchronous checkpoint writes a
// shard on a background thread while the training thread reads the corpus: every function here
// that reaches the HDF5 library holds this one lock (recursive: they call each other), which is
// what the thread-safe build does inside the library. The rule: every function of h5.h that
// reaches HDF5 takes the lock first; the helpers (anonymous namespace, internal::) are only called
// with it held and do not take it again.
std::recursive_mutex& internal::api_mutex() {
  static std::recursive_mutex m;
  return m;
}

namespace {

herr_t collect_error(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (!err->desc || !*err->desc) return 0;
  std::string desc = err->desc;
  // HDF5 repeats a message at several levels of its call stack; keep one copy.
  if (out->size() >= desc.size() && out->compare(out->size() - desc.size(), desc.size(), desc) == 0) return 0;
  if (!out->empty()) *out += ": ";
  *out += desc;
  return 0;
}

// The value of `key = '...'` (or `key = N`) in HDF5's error text, "" when absent.
std::string stack_field(const std::string& stack, const std::string& key) {
  size_t pos = stack.find(key + " = ");
  if (pos == std::string::npos) return "";
  pos += key.size() + 3;
  const bool quoted = pos < stack.size() && stack[pos] == '\'';
  if (quoted) ++pos;
  const size_t end = quoted ? stack.find('\'', pos) : stack.find_first_of(", \n", pos);
  return stack.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

// One line for an operating-system failure inside HDF5 (its stack repeats the errno at every
// level): "no space left on '<dir>' (writing '<file>')" for ENOSPC, "<what>: <strerror>" for
// the others; the whole stack otherwise.
std::string describe_failure(const std::string& what, const std::string& stack) {
  if (stack.empty()) return what;
  const std::string err = stack_field(stack, "errno"), file = stack_field(stack, "filename");
  if (err == "28" && !file.empty()) {
    return str_cat("no space left on '", parent_dir(file), "' (writing '", file, "')");
  }
  const std::string msg = stack_field(stack, "error message");
  if (!err.empty() && !msg.empty()) return str_cat(what, ": ", msg, file.empty() ? "" : " ('" + file + "')");
  return what + " (HDF5: " + stack + ")";
}

// Throws `kind` naming `what` when `status` (an id or herr_t) is negative.
template <typename T>
T check(T status, ErrorKind kind, const std::string& what) {
  if (status < 0) throw Error(kind, describe_failure(what, take_error_stack()), __FILE__, __LINE__);
  return status;
}

std::atomic<bool> g_library_damaged{false};

Handle make(hid_t id, Handle::Closer closer, ErrorKind kind, const std::string& what) {
  return Handle(check(id, kind, what), closer);
}

hid_t file_type(Dtype t) {
  switch (t) {
    case Dtype::U8: return H5T_STD_U8LE;
    case Dtype::U16: return H5T_STD_U16LE;
    case Dtype::U32: return H5T_STD_U32LE;
    case Dtype::I32: return H5T_STD_I32LE;
    case Dtype::I64: return H5T_STD_I64LE;
    case Dtype::U64: return H5T_STD_U64LE;
    case Dtype::F32: return H5T_IEEE_F32LE;
    case Dtype::F64: return H5T_IEEE_F64LE;
    default: break;
  }
  PLINTH_THROW(Internal, "h5: no file type for dtype ", dtype_name(t));
}

// Variable-length UTF-8 C string type (what h5py reads back as str).
Handle vlen_string_type() {
  Handle t = make(H5Tcopy(H5T_C_S1), H5Tclose, ErrorKind::Internal, "H5Tcopy");
  check(H5Tset_size(t.id(), H5T_VARIABLE), ErrorKind::Internal, "H5Tset_size");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), ErrorKind::Internal, "H5Tset_cset");
  return t;
}

Dtype classify(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_STRING) return Dtype::String;
  if (cls == H5T_FLOAT) return size == 4 ? Dtype::F32 : size == 8 ? Dtype::F64 : Dtype::Other;
  if (cls != H5T_INTEGER) return Dtype::Other;
  bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
  if (!is_signed) {
    if (size == 1) return Dtype::U8;
    if (size == 2) return Dtype::U16;
    if (size == 4) return Dtype::U32;
    if (size == 8) return Dtype::U64;
  } else {
    if (size == 4) return Dtype::I32;
    if (size == 8) return Dtype::I64;
  }
  return Dtype::Other;
}

std::string describe_type(hid_t type) {
  Dtype d = classify(type);
  if (d != Dtype::Other) return dtype_name(d);
  size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: return str_cat(H5Tget_sign(type) == H5T_SGN_2 ? "int" : "uint", bits);
    case H5T_FLOAT: return str_cat("float", bits);
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "vlen";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    case H5T_BITFIELD: return "bitfield";
    default: return "unknown";
  }
}

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

// Reads a scalar string (variable or fixed length) from an attribute or dataset.
std::string read_string_value(hid_t obj, bool is_attr, const std::string& what) {
  Handle type = make(is_attr ? H5Aget_type(obj) : H5Dget_type(obj), H5Tclose, ErrorKind::Input, what);
  PLINTH_CHECK(H5Tget_class(type.id()) == H5T_STRING, Input, what, ": expected a string, found ",
               describe_type(type.id()));
  Handle space = make(is_attr ? H5Aget_space(obj) : H5Dget_space(obj), H5Sclose, ErrorKind::Input, what);
  PLINTH_CHECK(H5Sget_simple_extent_npoints(space.id()) == 1, Input, what,
               ": expected a single string");
  if (H5Tis_variable_str(type.id()) > 0) {
    Handle mem = vlen_string_type();
    char* s = nullptr;
    check(is_attr ? H5Aread(obj, mem.id(), &s) : H5Dread(obj, mem.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &s),
          ErrorKind::Input, what + ": cannot read string");
    std::string out = s ? s : "";
    if (s) H5free_memory(s);
    return out;
  }
  size_t n = H5Tget_size(type.id());
  std::string buf(n, '\0');
  check(is_attr ? H5Aread(obj, type.id(), buf.data())
                : H5Dread(obj, type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()),
        ErrorKind::Input, what + ": cannot read string");
  auto end = buf.find('\0');
  if (end != std::string::npos) buf.resize(end);
  while (!buf.empty() && buf.back() == ' ') buf.pop_back();   // H5T_STR_SPACEPAD
  return buf;
}

}  // namespace

void init() {
  const internal::ApiLock api_lock(internal::api_mutex());
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

std::string take_error_stack() {
  const internal::ApiLock api_lock(internal::api_mutex());
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &out);
  H5Eclear2(H5E_DEFAULT);
  return out;
}

Handle& Handle::operator=(Handle&& o) noexcept {
  const internal::ApiLock api_lock(internal::api_mutex());
  if (this != &o) {
    reset();
    id_ = o.id_;
    closer_ = o.closer_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  const internal::ApiLock api_lock(internal::api_mutex());
  if (id_ >= 0 && closer_) {
    if (closer_(id_) < 0) take_error_stack();   // destructors must not throw
  }
  id_ = H5I_INVALID_HID;
}

const char* dtype_name(Dtype t) {
  switch (t) {
    case Dtype::U8: return "uint8";
    case Dtype::U16: return "uint16";
    case Dtype::U32: return "uint32";
    case Dtype::I32: return "int32";
    case Dtype::I64: return "int64";
    case Dtype::U64: return "uint64";
    case Dtype::F32: return "float32";
    case Dtype::F64: return "float64";
    case Dtype::String: return "string";
    case Dtype::Other: return "other";
  }
  return "other";
}

hid_t native_type(Dtype t) {
  const internal::ApiLock api_lock(internal::api_mutex());
  switch (t) {
    case Dtype::U8: return H5T_NATIVE_UINT8;
    case Dtype::U16: return H5T_NATIVE_UINT16;
    case Dtype::U32: return H5T_NATIVE_UINT32;
    case Dtype::I32: return H5T_NATIVE_INT32;
    case Dtype::I64: return H5T_NATIVE_INT64;
    case Dtype::U64: return H5T_NATIVE_UINT64;
    case Dtype::F32: return H5T_NATIVE_FLOAT;
    case Dtype::F64: return H5T_NATIVE_DOUBLE;
    default: break;
  }
  PLINTH_THROW(Internal, "h5: no native type for dtype ", dtype_name(t));
}

// ---- Object (attributes) ----------------------------------------------------------------

std::string Object::where() const { return str_cat("file '", file_, "', object '", path_, "'"); }

std::string Object::child_path(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

bool Object::has_attr(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  return check(H5Aexists(id(), name.c_str()), ErrorKind::Input, where() + ": H5Aexists") > 0;
}

namespace {
void write_attr(const Object& o, const std::string& name, hid_t ftype, hid_t mtype, const void* v) {
  std::string what = str_cat(o.where(), ": cannot write attribute '", name, "'");
  if (o.has_attr(name)) check(H5Adelete(o.id(), name.c_str()), ErrorKind::Io, what);
  Handle space = make(H5Screate(H5S_SCALAR), H5Sclose, ErrorKind::Io, what);
  Handle attr = make(H5Acreate2(o.id(), name.c_str(), ftype, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                     H5Aclose, ErrorKind::Io, what);
  check(H5Awrite(attr.id(), mtype, v), ErrorKind::Io, what);
}

Handle open_attr(const Object& o, const std::string& name) {
  PLINTH_CHECK(o.has_attr(name), Input, o.where(), ": missing attribute '", name, "'");
  return make(H5Aopen(o.id(), name.c_str(), H5P_DEFAULT), H5Aclose, ErrorKind::Input,
              str_cat(o.where(), ": cannot open attribute '", name, "'"));
}

// Opens a numeric scalar attribute and checks its class.
Handle open_numeric_attr(const Object& o, const std::string& name, bool allow_float) {
  Handle attr = open_attr(o, name);
  Handle type = make(H5Aget_type(attr.id()), H5Tclose, ErrorKind::Input, o.where());
  H5T_class_t cls = H5Tget_class(type.id());
  bool ok = cls == H5T_INTEGER || (allow_float && cls == H5T_FLOAT);
  PLINTH_CHECK(ok, Input, o.where(), ": attribute '", name, "' has type ",
               describe_type(type.id()), ", expected ", allow_float ? "a number" : "an integer");
  Handle space = make(H5Aget_space(attr.id()), H5Sclose, ErrorKind::Input, o.where());
  PLINTH_CHECK(H5Sget_simple_extent_npoints(space.id()) == 1, Input, o.where(), ": attribute '",
               name, "' is not a scalar");
  return attr;
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}
}  // namespace

void Object::set_attr(const std::string& name, const std::string& value) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  PLINTH_CHECK(value.find('\0') == std::string::npos, Internal, where(), ": attribute '", name,
               "' contains a NUL byte");
  Handle type = vlen_string_type();
  const char* p = value.c_str();
  write_attr(*this, name, type.id(), type.id(), &p);
}

void Object::set_attr(const std::string& name, int64_t value) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  write_attr(*this, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void Object::set_attr(const std::string& name, uint64_t value) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  write_attr(*this, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

void Object::set_attr(const std::string& name, double value) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  write_attr(*this, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

std::vector<std::string> Object::attr_names() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  std::vector<std::string> names;
  check(H5Aiterate2(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr_name, &names),
        ErrorKind::Input, where() + ": cannot list attributes");
  return names;
}

std::string Object::attr_string(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle attr = open_attr(*this, name);
  return read_string_value(attr.id(), true, str_cat(where(), ": attribute '", name, "'"));
}

int64_t Object::attr_int(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle attr = open_numeric_attr(*this, name, false);
  Handle type = make(H5Aget_type(attr.id()), H5Tclose, ErrorKind::Input, where());
  if (H5Tget_sign(type.id()) == H5T_SGN_NONE && H5Tget_size(type.id()) == 8) {
    uint64_t u = 0;
    check(H5Aread(attr.id(), H5T_NATIVE_UINT64, &u), ErrorKind::Input, where());
    PLINTH_CHECK(u <= static_cast<uint64_t>(INT64_MAX), Input, where(), ": attribute '", name,
                 "' value ", u, " does not fit int64");
    return static_cast<int64_t>(u);
  }
  int64_t v = 0;
  check(H5Aread(attr.id(), H5T_NATIVE_INT64, &v), ErrorKind::Input,
        str_cat(where(), ": cannot read attribute '", name, "'"));
  return v;
}

uint64_t Object::attr_uint(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle attr = open_numeric_attr(*this, name, false);
  Handle type = make(H5Aget_type(attr.id()), H5Tclose, ErrorKind::Input, where());
  if (H5Tget_sign(type.id()) == H5T_SGN_2) {
    int64_t v = attr_int(name);
    PLINTH_CHECK(v >= 0, Input, where(), ": attribute '", name, "' is negative (", v, ")");
    return static_cast<uint64_t>(v);
  }
  uint64_t u = 0;
  check(H5Aread(attr.id(), H5T_NATIVE_UINT64, &u), ErrorKind::Input,
        str_cat(where(), ": cannot read attribute '", name, "'"));
  return u;
}

double Object::attr_double(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle attr = open_numeric_attr(*this, name, true);
  double v = 0;
  check(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &v), ErrorKind::Input,
        str_cat(where(), ": cannot read attribute '", name, "'"));
  return v;
}

// ---- Dataset ----------------------------------------------------------------------------

std::vector<int64_t> Dataset::dims() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle space = make(H5Dget_space(id()), H5Sclose, ErrorKind::Input, where());
  int rank = check(H5Sget_simple_extent_ndims(space.id()), ErrorKind::Input, where());
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space.id(), d.data(), nullptr), ErrorKind::Input, where());
  return {d.begin(), d.end()};
}

int64_t Dataset::numel() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  int64_t n = 1;
  for (int64_t d : dims()) n *= d;
  return n;
}

Dtype Dataset::dtype() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle type = make(H5Dget_type(id()), H5Tclose, ErrorKind::Input, where());
  return classify(type.id());
}

std::string Dataset::dtype_description() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle type = make(H5Dget_type(id()), H5Tclose, ErrorKind::Input, where());
  return describe_type(type.id());
}

namespace {
// File and memory dataspaces for a hyperslab of `ds`; empty start/count = whole dataset.
struct Selection {
  Handle file, mem;
  bool empty = false;
};

Selection select(const Dataset& ds, const std::vector<int64_t>& start,
                 const std::vector<int64_t>& count, ErrorKind kind) {
  Selection s;
  s.file = make(H5Dget_space(ds.id()), H5Sclose, kind, ds.where());
  int rank = H5Sget_simple_extent_ndims(s.file.id());
  PLINTH_CHECK(static_cast<int>(start.size()) == rank && static_cast<int>(count.size()) == rank,
               Internal, ds.where(), ": hyperslab of rank ", count.size(), " on a dataset of rank ", rank);
  if (rank == 0) {
    s.mem = make(H5Screate(H5S_SCALAR), H5Sclose, kind, ds.where());
    return s;
  }
  auto dims = ds.dims();
  for (int d = 0; d < rank; ++d) {
    PLINTH_CHECK(start[d] >= 0 && count[d] >= 0 && start[d] + count[d] <= dims[d], Input,
                 ds.where(), ": hyperslab start ", start[d], " count ", count[d],
                 " outside dimension ", d, " of size ", dims[d]);
    if (count[d] == 0) s.empty = true;
  }
  if (s.empty) return s;
  auto st = to_hsize(start), ct = to_hsize(count);
  check(H5Sselect_hyperslab(s.file.id(), H5S_SELECT_SET, st.data(), nullptr, ct.data(), nullptr),
        kind, ds.where() + ": cannot select hyperslab");
  s.mem = make(H5Screate_simple(rank, ct.data(), nullptr), H5Sclose, kind, ds.where());
  return s;
}
}  // namespace

void Dataset::read(Dtype mem, const std::vector<int64_t>& start, const std::vector<int64_t>& count,
                   void* out) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Selection s = select(*this, start, count, ErrorKind::Input);
  if (s.empty) return;
  check(H5Dread(id(), native_type(mem), s.mem.id(), s.file.id(), H5P_DEFAULT, out), ErrorKind::Input,
        where() + ": cannot read data");
}

void Dataset::write(Dtype mem, const std::vector<int64_t>& start, const std::vector<int64_t>& count,
                    const void* data) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Selection s = select(*this, start, count, ErrorKind::Io);
  if (s.empty) return;
  check(H5Dwrite(id(), native_type(mem), s.mem.id(), s.file.id(), H5P_DEFAULT, data), ErrorKind::Io,
        where() + ": cannot write data");
}

void Dataset::read_all(Dtype mem, void* out) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  auto d = dims();
  read(mem, std::vector<int64_t>(d.size(), 0), d, out);
}

void Dataset::write_all(Dtype mem, const void* data) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  auto d = dims();
  write(mem, std::vector<int64_t>(d.size(), 0), d, data);
}

void Dataset::extend(const std::vector<int64_t>& new_dims) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  auto d = to_hsize(new_dims);
  check(H5Dset_extent(id(), d.data()), ErrorKind::Io, where() + ": cannot extend dataset");
}

std::string Dataset::read_string() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  return read_string_value(id(), false, where());
}

// ---- Group ------------------------------------------------------------------------------

bool Group::has(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  // H5Lexists fails (instead of returning 0) when an intermediate group is missing.
  size_t pos = 0;
  while (true) {
    size_t slash = name.find('/', pos);
    std::string prefix = name.substr(0, slash);
    if (check(H5Lexists(id(), prefix.c_str(), H5P_DEFAULT), ErrorKind::Input, where()) <= 0) return false;
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

namespace {
H5I_type_t object_type(const Group& g, const std::string& name) {
  if (!g.has(name)) return H5I_BADID;
  Handle obj = make(H5Oopen(g.id(), name.c_str(), H5P_DEFAULT), H5Oclose, ErrorKind::Input,
                    str_cat(g.where(), ": cannot open '", name, "'"));
  return H5Iget_type(obj.id());
}
}  // namespace

bool Group::has_group(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  return object_type(*this, name) == H5I_GROUP;
}
bool Group::has_dataset(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  return object_type(*this, name) == H5I_DATASET;
}

std::vector<std::string> Group::children() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  H5G_info_t info;
  check(H5Gget_info(id(), &info), ErrorKind::Input, where() + ": cannot list group");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t n = check(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT),
                      ErrorKind::Input, where());
    std::string name(static_cast<size_t>(n) + 1, '\0');
    check(H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT),
          ErrorKind::Input, where());
    name.resize(static_cast<size_t>(n));
    names.push_back(name);
  }
  return names;
}

Group Group::create_group(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  std::string what = str_cat(where(), ": cannot create group '", name, "'");
  Handle lcpl = make(H5Pcreate(H5P_LINK_CREATE), H5Pclose, ErrorKind::Io, what);
  check(H5Pset_create_intermediate_group(lcpl.id(), 1), ErrorKind::Io, what);
  Handle g = make(H5Gcreate2(id(), name.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                  ErrorKind::Io, what);
  return Group(std::move(g), file_, child_path(name));
}

Group Group::open_group(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  PLINTH_CHECK(has_group(name), Input, "file '", file_, "': missing group '", child_path(name), "'");
  Handle g = make(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), H5Gclose, ErrorKind::Input,
                  str_cat(where(), ": cannot open group '", name, "'"));
  return Group(std::move(g), file_, child_path(name));
}

Dataset Group::open_dataset(const std::string& name) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  PLINTH_CHECK(has_dataset(name), Input, "file '", file_, "': missing dataset '", child_path(name), "'");
  Handle d = make(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose, ErrorKind::Input,
                  str_cat(where(), ": cannot open dataset '", name, "'"));
  return Dataset(std::move(d), file_, child_path(name));
}

Dataset Group::create_dataset(const std::string& name, Dtype type, const std::vector<int64_t>& dims,
                              Layout layout, int64_t chunk) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  std::string what = str_cat(where(), ": cannot create dataset '", name, "'");
  int rank = static_cast<int>(dims.size());
  auto d = to_hsize(dims);
  Handle space;
  Handle dcpl = make(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, ErrorKind::Io, what);
  if (rank == 0) {
    PLINTH_CHECK(layout == Layout::Contiguous, Internal, what, ": a scalar cannot be chunked");
    space = make(H5Screate(H5S_SCALAR), H5Sclose, ErrorKind::Io, what);
  } else if (layout == Layout::Chunked) {
    std::vector<hsize_t> maxdims = d, chunks = d;
    maxdims[0] = H5S_UNLIMITED;
    chunks[0] = static_cast<hsize_t>(chunk > 0 ? chunk : 65536);
    for (int i = 1; i < rank; ++i)
      PLINTH_CHECK(chunks[i] > 0, Internal, what, ": chunked dimension ", i, " is empty");
    space = make(H5Screate_simple(rank, d.data(), maxdims.data()), H5Sclose, ErrorKind::Io, what);
    check(H5Pset_chunk(dcpl.id(), rank, chunks.data()), ErrorKind::Io, what);
  } else {
    space = make(H5Screate_simple(rank, d.data(), nullptr), H5Sclose, ErrorKind::Io, what);
  }
  check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_IFSET), ErrorKind::Io, what);
  Handle lcpl = make(H5Pcreate(H5P_LINK_CREATE), H5Pclose, ErrorKind::Io, what);
  check(H5Pset_create_intermediate_group(lcpl.id(), 1), ErrorKind::Io, what);
  Handle ds = make(H5Dcreate2(id(), name.c_str(), file_type(type), space.id(), lcpl.id(), dcpl.id(),
                              H5P_DEFAULT),
                   H5Dclose, ErrorKind::Io, what);
  return Dataset(std::move(ds), file_, child_path(name));
}

Dataset Group::create_string_dataset(const std::string& name, const std::string& value) const {
  const internal::ApiLock api_lock(internal::api_mutex());
  std::string what = str_cat(where(), ": cannot create string dataset '", name, "'");
  PLINTH_CHECK(value.find('\0') == std::string::npos, Internal, what, ": value contains a NUL byte");
  Handle type = vlen_string_type();
  Handle space = make(H5Screate(H5S_SCALAR), H5Sclose, ErrorKind::Io, what);
  Handle ds = make(H5Dcreate2(id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT),
                   H5Dclose, ErrorKind::Io, what);
  const char* p = value.c_str();
  check(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), ErrorKind::Io, what);
  return Dataset(std::move(ds), file_, child_path(name));
}

// ---- File -------------------------------------------------------------------------------

File File::create(const std::string& path) {
  const internal::ApiLock api_lock(internal::api_mutex());
  init();
  std::string what = str_cat("cannot create HDF5 file '", path, "'");
  Handle fapl = make(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, ErrorKind::Io, what);
  // 1.8 object headers carry checksums, so corrupted metadata is detected on open.
  check(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), ErrorKind::Io, what);
  File f;
  f.handle_ = make(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()), H5Fclose,
                   ErrorKind::Io, what);
  f.path_ = path;
  f.origin_ = FileOrigin::Created;
  return f;
}

File File::open(const std::string& path, FileMode mode) {
  const internal::ApiLock api_lock(internal::api_mutex());
  init();
  struct stat st;
  PLINTH_CHECK(::stat(path.c_str(), &st) == 0, Input, "file not found: '", path, "'");
  PLINTH_CHECK(is_hdf5(path), Input, "'", path, "' is not an HDF5 file");
  File f;
  f.handle_ = make(H5Fopen(path.c_str(), mode == FileMode::ReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR,
                           H5P_DEFAULT),
                   H5Fclose, ErrorKind::Input, str_cat("cannot open HDF5 file '", path, "'"));
  f.path_ = path;
  return f;
}

Group File::root() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  Handle g = make(H5Gopen2(handle_.id(), "/", H5P_DEFAULT), H5Gclose, ErrorKind::Input,
                  str_cat("file '", path_, "': cannot open root group"));
  return Group(std::move(g), path_, "/");
}

void File::flush() const {
  const internal::ApiLock api_lock(internal::api_mutex());
  check(H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL), ErrorKind::Io, str_cat("cannot flush '", path_, "'"));
}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    close_after_error();
    handle_ = std::move(o.handle_);
    path_ = std::move(o.path_);
    origin_ = o.origin_;
  }
  return *this;
}

File::~File() { close_after_error(); }

void File::close() {
  const internal::ApiLock api_lock(internal::api_mutex());
  if (!handle_.valid()) return;
  // Flush first: a flush that fails leaves the file open and intact in HDF5's tables, where a
  // failed H5Fclose would leave it half torn down.
  if (H5Fflush(handle_.id(), H5F_SCOPE_LOCAL) < 0) {
    const std::string error = describe_failure(str_cat("cannot write HDF5 file '", path_, "'"), take_error_stack());
    close_after_error();
    throw Error(ErrorKind::Io, error, __FILE__, __LINE__);
  }
  herr_t status = H5Fclose(handle_.release());
  if (status < 0) g_library_damaged = true;
  check(status, ErrorKind::Io, str_cat("cannot close HDF5 file '", path_, "'"));
}

void File::close_after_error() {
  const internal::ApiLock api_lock(internal::api_mutex());
  if (!handle_.valid()) return;
  if (H5Fflush(handle_.id(), H5F_SCOPE_LOCAL) < 0) {
    take_error_stack();
    // A new file whose writes failed is discarded by its caller: give its blocks back to the
    // file system so that HDF5 can write what it still holds, then close it properly.
    if (origin_ == FileOrigin::Created && ::truncate(path_.c_str(), 0) == 0 &&
        H5Fflush(handle_.id(), H5F_SCOPE_LOCAL) < 0)
      take_error_stack();
  }
  if (H5Fclose(handle_.release()) < 0) {
    take_error_stack();
    g_library_damaged = true;
  }
}

bool is_hdf5(const std::string& path) {
  const internal::ApiLock api_lock(internal::api_mutex());
  init();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  htri_t r = H5Fis_hdf5(path.c_str());
  if (r < 0) take_error_stack();
  return r > 0;
}

namespace internal {

herr_t check_status(herr_t status, ErrorKind kind, const std::string& what) {
  return check(status, kind, what);
}
Handle make_handle(hid_t id, Handle::Closer closer, ErrorKind kind, const std::string& what) {
  return make(id, closer, kind, what);
}
hid_t file_type_of(Dtype t) {
  return file_type(t);
}

}  // namespace internal

}  // namespace plinth::io::h5

namespace plinth::io {
bool io_library_damaged() { return h5::g_library_damaged.load(); }   // io/io_status.h
}  // namespace plinth::io

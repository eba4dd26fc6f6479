// h5.h -- thin RAII layer over the HDF5 C API, used by the corpus and checkpoint formats.
// Every handle (file, group, dataset, dataspace, datatype, attribute, property list) closes
// itself; every failing H5 call becomes a plinth::Error naming the file and the object, with
// HDF5's own error stack captured into the message instead of being printed to stderr.
// Files are created with the 1.8 object format (metadata checksums) and read by h5py/h5dump.
// Only io/*.cpp include this header; the public io headers keep hdf5.h out of other layers.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace plinth::io::h5 {

// Silences HDF5's automatic error printing (idempotent; every entry point below calls it).
void init();

// The messages on HDF5's error stack for this thread, innermost last; clears the stack.
std::string take_error_stack();

// Owns one hid_t and closes it with the matching H5*close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();   // closes quietly (used by the destructor)
  hid_t release() {   // gives up ownership without closing
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Element types plinth stores. String = variable-length UTF-8 C string.
enum class Dtype { U8, U16, U32, I32, I64, U64, F32, F64, String, Other };

const char* dtype_name(Dtype t);          // "uint16", "float32", "string", ...
hid_t native_type(Dtype t);               // H5T_NATIVE_* (not for String/Other)

template <typename T> constexpr Dtype dtype_of();
template <> constexpr Dtype dtype_of<uint8_t>() { return Dtype::U8; }
template <> constexpr Dtype dtype_of<uint16_t>() { return Dtype::U16; }
template <> constexpr Dtype dtype_of<uint32_t>() { return Dtype::U32; }
template <> constexpr Dtype dtype_of<int32_t>() { return Dtype::I32; }
template <> constexpr Dtype dtype_of<int64_t>() { return Dtype::I64; }
template <> constexpr Dtype dtype_of<uint64_t>() { return Dtype::U64; }
template <> constexpr Dtype dtype_of<float>() { return Dtype::F32; }
template <> constexpr Dtype dtype_of<double>() { return Dtype::F64; }

enum class FileMode { ReadOnly, ReadWrite };
enum class Layout { Contiguous, Chunked };   // Chunked datasets are extendible along dim 0

class Group;
class Dataset;

// One mapping of an HDF5 virtual dataset: the whole of dataset `dataset` in file `file` (a path
// relative to the virtual dataset's own file) fills the block [start, start + count) of it.
struct VirtualMapping {
  std::string file, dataset;
  std::vector<int64_t> start, count;
};

// Something attributes hang on (a group or a dataset). Remembers its file and path for errors.
class Object {
 public:
  hid_t id() const { return handle_.id(); }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  std::string where() const;   // "file 'x.h5', object '/train/tokens'"

  bool has_attr(const std::string& name) const;
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, const char* value) const { set_attr(name, std::string(value)); }
  void set_attr(const std::string& name, int64_t value) const;
  void set_attr(const std::string& name, uint64_t value) const;
  void set_attr(const std::string& name, double value) const;
  std::vector<std::string> attr_names() const;
  // Readers throw ErrorKind::Input naming the attribute when it is missing or of the wrong
  // class. Integer readers accept any integer attribute whose value fits.
  std::string attr_string(const std::string& name) const;
  int64_t attr_int(const std::string& name) const;
  uint64_t attr_uint(const std::string& name) const;
  double attr_double(const std::string& name) const;

 protected:
  Object() = default;
  Object(Handle h, std::string file, std::string path)
      : handle_(std::move(h)), file_(std::move(file)), path_(std::move(path)) {}
  std::string child_path(const std::string& name) const;
  Handle handle_;
  std::string file_;
  std::string path_;
};

class Dataset : public Object {
 public:
  Dataset() = default;
  Dataset(Handle h, std::string file, std::string path) : Object(std::move(h), std::move(file), std::move(path)) {}

  std::vector<int64_t> dims() const;   // empty for a scalar dataset
  int64_t numel() const;
  Dtype dtype() const;                 // Dtype::Other for anything plinth does not store
  std::string dtype_description() const;   // e.g. "float32", "int8", "compound"

  // Hyperslab I/O: `start`/`count` per dimension (empty for scalars); the memory buffer is a
  // dense row-major block of shape `count` of element type `mem`.
  void read(Dtype mem, const std::vector<int64_t>& start, const std::vector<int64_t>& count,
            void* out) const;
  void write(Dtype mem, const std::vector<int64_t>& start, const std::vector<int64_t>& count,
             const void* data) const;
  void read_all(Dtype mem, void* out) const;
  void write_all(Dtype mem, const void* data) const;
  void extend(const std::vector<int64_t>& new_dims) const;   // Layout::Chunked only

  // Scalar variable-length (or fixed-length) string datasets.
  std::string read_string() const;

  // Virtual datasets (h5_virtual.cpp): whether this is one, and its mappings in creation order.
  bool is_virtual() const;
  std::vector<VirtualMapping> virtual_mappings() const;
};

class Group : public Object {
 public:
  Group() = default;
  Group(Handle h, std::string file, std::string path) : Object(std::move(h), std::move(file), std::move(path)) {}

  bool has(const std::string& name) const;   // link exists (name may contain '/')
  bool has_group(const std::string& name) const;
  bool has_dataset(const std::string& name) const;
  std::vector<std::string> children() const;   // link names, in name order

  Group create_group(const std::string& name) const;   // intermediate groups are created
  Group open_group(const std::string& name) const;     // Input error when missing
  Dataset open_dataset(const std::string& name) const; // Input error when missing

  // New dataset. Chunked: maxdims unlimited along dim 0, `chunk` elements per chunk along it.
  Dataset create_dataset(const std::string& name, Dtype type, const std::vector<int64_t>& dims,
                         Layout layout = Layout::Contiguous, int64_t chunk = 0) const;
  Dataset create_string_dataset(const std::string& name, const std::string& value) const;
  // A virtual dataset over datasets in other files (h5_virtual.cpp); unmapped elements read as
  // NaN (float types) or 0. Open it with the default file driver (not MPI-IO).
  Dataset create_virtual_dataset(const std::string& name, Dtype type, const std::vector<int64_t>& dims,
                                 const std::vector<VirtualMapping>& mappings) const;
};

// A file this process created (its contents are worth nothing until it closes cleanly) or one
// that existed before (never modified on an error path).
enum class FileOrigin { Created, Opened };

class File {
 public:
  static File create(const std::string& path);   // truncates an existing file
  static File open(const std::string& path, FileMode mode);
  File() = default;
  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept;
  ~File();   // closes quietly, as close_after_error
  const std::string& path() const { return path_; }
  Group root() const;
  void flush() const;
  // Throws when HDF5 fails to flush or close (data may not be on disk), e.g. "no space left on
  // '<dir>'"; the handle is closed either way (see close_after_error).
  void close();

 private:
  // A failed flush (a full disk) must not leave HDF5 holding a half-closed file: it would crash
  // in its own shutdown. A file this process created is truncated to free its space and flushed
  // again before it is closed; the caller discards it. When HDF5 still fails,
  // io_library_damaged() (io/io_status.h) says so.
  void close_after_error();

  Handle handle_;
  std::string path_;
  FileOrigin origin_ = FileOrigin::Opened;
};

// True when `path` exists and carries the HDF5 signature (false for other files).
bool is_hdf5(const std::string& path);

// ---- 1-D helpers -----------------------------------------------------------------------

template <typename T>
void write_vector(const Group& g, const std::string& name, const std::vector<T>& v) {
  Dataset d = g.create_dataset(name, dtype_of<T>(), {static_cast<int64_t>(v.size())});
  if (!v.empty()) d.write_all(dtype_of<T>(), v.data());
}

// Reads a whole 1-D dataset, converting to T (HDF5 converts between numeric types).
template <typename T>
std::vector<T> read_vector(const Dataset& d) {
  auto dims = d.dims();
  PLINTH_CHECK(dims.size() == 1, Input, d.where(), ": expected a 1-D dataset, found rank ",
               dims.size());
  std::vector<T> v(static_cast<size_t>(dims[0]));
  if (!v.empty()) d.read_all(dtype_of<T>(), v.data());
  return v;
}

template <typename T>
std::vector<T> read_vector(const Group& g, const std::string& name) {
  return read_vector<T>(g.open_dataset(name));
}

// ---- Raw storage: where a dataset's bytes lie, for reads that bypass HDF5 ----------------
// (defined in h5_raw.cpp) A reader that pread(2)s these bytes itself needs neither the
// library nor its process-wide lock, so it cannot be stalled by another thread's HDF5 calls.

enum class ByteOrder { Little, Big };

// Elements [first, first + count) of a 1-D dataset, stored as plain bytes from file offset `offset`.
struct RawSegment {
  int64_t first = 0, count = 0, offset = 0;
};

struct RawLayout {
  int64_t element_size = 0;            // bytes per element
  ByteOrder order = ByteOrder::Little;
  std::vector<RawSegment> segments;    // in element order, covering [0, numel) without gaps
};

// The raw layout of a 1-D integer dataset whose elements are plain bytes inside its own file:
// contiguous storage, or chunked with every chunk allocated and no filter. nullopt (with the
// reason in *why_not) for compact, virtual, external or filtered storage, an unallocated
// chunk, a file with a user block, or a type with padding bits.
std::optional<RawLayout> raw_layout(const Dataset& ds, std::string* why_not);

// A new close-on-exec descriptor of the file holding `obj`, duplicated from the one the default
// (sec2) driver has open (so it is the very file HDF5 read, even if the path was replaced since);
// -1 with the reason in *why_not under any other driver. The caller closes it.
int raw_file_descriptor(const Object& obj, std::string* why_not);

}  // namespace plinth::io::h5

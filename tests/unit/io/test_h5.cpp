// test_h5.cpp -- the HDF5 wrapper: vectors of every stored dtype, N-D hyperslabs, attributes,
// and errors that name the file and object instead of printing HDF5's stack.
// Every file lives in a temporary directory removed at the end of its test.
#include <gtest/gtest.h>

#include "io/h5.h"
#include "io_test_util.h"

namespace plinth::io {
namespace {

using test::expect_error;
using test::TempDir;

template <typename T>
void roundtrip_vector(const h5::Group& g, const std::string& name, std::vector<T> v) {
  h5::write_vector(g, name, v);
  h5::Dataset d = g.open_dataset(name);
  EXPECT_EQ(d.dtype(), h5::dtype_of<T>()) << name;
  EXPECT_EQ(h5::read_vector<T>(d), v) << name;
}

TEST(H5, VectorsOfEveryDtypeRoundTrip) {
  TempDir dir;
  std::string path = dir.file("v.h5");
  {
    h5::File f = h5::File::create(path);
    h5::Group g = f.root().create_group("a/b");
    roundtrip_vector<uint8_t>(g, "u8", {0, 1, 255});
    roundtrip_vector<uint16_t>(g, "u16", {0, 65535, 7});
    roundtrip_vector<uint32_t>(g, "u32", {0, 4000000000u});
    roundtrip_vector<int32_t>(g, "i32", {-5, 2147483647});
    roundtrip_vector<int64_t>(g, "i64", {-1, int64_t{1} << 62});
    roundtrip_vector<uint64_t>(g, "u64", {~uint64_t{0}, 3});
    roundtrip_vector<float>(g, "f32", {1.5f, -0.0f, 3e38f});
    roundtrip_vector<uint8_t>(g, "empty", {});
    f.close();
  }
  h5::File f = h5::File::open(path, h5::FileMode::ReadOnly);
  h5::Group root = f.root();
  EXPECT_TRUE(root.has_group("a"));
  EXPECT_TRUE(root.has_dataset("a/b/u16"));
  EXPECT_FALSE(root.has("a/missing/x"));
  EXPECT_EQ(h5::read_vector<int64_t>(root, "a/b/u16"), (std::vector<int64_t>{0, 65535, 7}));
  EXPECT_EQ(root.open_group("a/b").children().size(), 8u);
}

TEST(H5, NdHyperslabReadWrite) {
  TempDir dir;
  h5::File f = h5::File::create(dir.file("nd.h5"));
  h5::Dataset d = f.root().create_dataset("t", h5::Dtype::F32, {4, 3, 2});
  std::vector<float> full(24);
  for (int i = 0; i < 24; ++i) full[i] = static_cast<float>(i);
  d.write_all(h5::Dtype::F32, full.data());
  std::vector<float> slab(2 * 2 * 1);
  d.read(h5::Dtype::F32, {1, 1, 1}, {2, 2, 1}, slab.data());
  EXPECT_EQ(slab, (std::vector<float>{9, 11, 15, 17}));
  std::vector<float> patch = {-1, -2};
  d.write(h5::Dtype::F32, {3, 0, 0}, {1, 1, 2}, patch.data());
  std::vector<float> back(24);
  d.read_all(h5::Dtype::F32, back.data());
  EXPECT_EQ(back[18], -1.0f);
  EXPECT_EQ(back[19], -2.0f);
  EXPECT_EQ(back[17], 17.0f);
  expect_error([&] { d.read(h5::Dtype::F32, {3, 0, 0}, {2, 1, 1}, back.data()); }, ErrorKind::Input,
               {"nd.h5", "/t", "outside dimension 0"});
}

TEST(H5, AttributesRoundTripAndReportMissing) {
  TempDir dir;
  std::string path = dir.file("a.h5");
  {
    h5::File f = h5::File::create(path);
    h5::Group r = f.root();
    r.set_attr("s", "héllo");
    r.set_attr("i", int64_t{-42});
    r.set_attr("u", ~uint64_t{0});
    r.set_attr("d", 0.25);
    r.set_attr("s", "overwritten");
    f.close();
  }
  h5::File f = h5::File::open(path, h5::FileMode::ReadOnly);
  h5::Group r = f.root();
  EXPECT_EQ(r.attr_string("s"), "overwritten");
  EXPECT_EQ(r.attr_int("i"), -42);
  EXPECT_EQ(r.attr_uint("u"), ~uint64_t{0});
  EXPECT_EQ(r.attr_double("d"), 0.25);
  EXPECT_EQ(r.attr_double("i"), -42.0);
  EXPECT_EQ(r.attr_names(), (std::vector<std::string>{"d", "i", "s", "u"}));
  expect_error([&] { r.attr_int("nope"); }, ErrorKind::Input, {"a.h5", "'nope'"});
  expect_error([&] { r.attr_int("s"); }, ErrorKind::Input, {"a.h5", "'s'", "string"});
  expect_error([&] { r.attr_uint("i"); }, ErrorKind::Input, {"negative"});
  expect_error([&] { r.open_dataset("x/y"); }, ErrorKind::Input, {"a.h5", "/x/y"});
}

TEST(H5, OpenErrorsNameTheFile) {
  TempDir dir;
  expect_error([&] { h5::File::open(dir.file("none.h5"), h5::FileMode::ReadOnly); }, ErrorKind::Input,
               {"not found", "none.h5"});
  test::write_text(dir.file("text.h5"), "just some text, not HDF5\n");
  EXPECT_FALSE(h5::is_hdf5(dir.file("text.h5")));
  expect_error([&] { h5::File::open(dir.file("text.h5"), h5::FileMode::ReadOnly); }, ErrorKind::Input,
               {"not an HDF5 file", "text.h5"});
  expect_error([&] { h5::File::create(dir.file("no/such/dir/x.h5")); }, ErrorKind::Io,
               {"cannot create HDF5 file", "no/such/dir/x.h5", "No such file or directory"});
}

TEST(H5, ScalarStringDataset) {
  TempDir dir;
  h5::File f = h5::File::create(dir.file("s.h5"));
  std::string text = "[model]\nn_layer = 2\n# ünïcode\n";
  f.root().create_string_dataset("cfg", text);
  EXPECT_EQ(f.root().open_dataset("cfg").read_string(), text);
  EXPECT_EQ(f.root().open_dataset("cfg").dtype(), h5::Dtype::String);
}

}  // namespace
}  // namespace plinth::io

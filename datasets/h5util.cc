#include "datasets/h5util.h"

#include <stdexcept>

#include "core/text.h"

namespace linklab::datasets::h5 {

bool Exists(const H5::H5Location& where, const std::string& name) {
  return H5Lexists(where.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

H5::Group EnsureGroup(H5::H5File& file, const std::string& path) {
  std::string current;
  for (const auto& part : core::Split(path, '/')) {
    if (part.empty()) continue;
    current += "/" + part;
    if (!Exists(file, current)) {
      // No modification times in object headers: the same content gives the same file.
      const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
      H5Pset_obj_track_times(gcpl, false);
      const hid_t g = H5Gcreate2(file.getId(), current.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT);
      H5Pclose(gcpl);
      if (g < 0) throw std::runtime_error("cannot create group " + current);
      H5Gclose(g);
    }
  }
  return file.openGroup(current.empty() ? "/" : current);
}

void WriteDoubles(H5::Group& group, const std::string& name, const std::vector<double>& values) {
  hsize_t dims[1] = {values.size()};
  H5::DataSpace space(1, dims);
  H5::DSetCreatPropList props;
  H5Pset_obj_track_times(props.getId(), false);
  if (!values.empty()) {
    hsize_t chunk[1] = {std::min<hsize_t>(values.size(), 65536)};
    props.setChunk(1, chunk);
    props.setDeflate(4);
  }
  H5::DataSet ds = group.createDataSet(name, H5::PredType::NATIVE_DOUBLE, space, props);
  if (!values.empty()) ds.write(values.data(), H5::PredType::NATIVE_DOUBLE);
}

std::vector<double> ReadDoubles(const H5::DataSet& ds) {
  H5::DataSpace space = ds.getSpace();
  if (space.getSimpleExtentNdims() != 1) throw std::runtime_error("dataset is not 1-D");
  hsize_t dims[1];
  space.getSimpleExtentDims(dims);
  std::vector<double> out(dims[0]);
  if (!out.empty()) ds.read(out.data(), H5::PredType::NATIVE_DOUBLE);
  return out;
}

void SetText(H5::H5Object& obj, const std::string& name, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  if (obj.attrExists(name)) obj.removeAttr(name);
  H5::Attribute a = obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
  a.write(type, value);
}

void SetInt(H5::H5Object& obj, const std::string& name, int64_t value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  H5::Attribute a =
      obj.createAttribute(name, H5::PredType::NATIVE_INT64, H5::DataSpace(H5S_SCALAR));
  a.write(H5::PredType::NATIVE_INT64, &value);
}

std::string GetText(const H5::H5Object& obj, const std::string& name) {
  H5::Attribute a = obj.openAttribute(name);
  std::string value;
  a.read(a.getStrType(), value);
  return value;
}

int64_t GetInt(const H5::H5Object& obj, const std::string& name) {
  H5::Attribute a = obj.openAttribute(name);
  int64_t value = 0;
  a.read(H5::PredType::NATIVE_INT64, &value);
  return value;
}

}  // namespace linklab::datasets::h5

#include "datasets/metrics_file.h"

#include <cstdio>
#include <stdexcept>

#include "datasets/h5util.h"

namespace linklab::datasets {

const FileKind kMetricsFile{"linklab-metrics", 1};
const FileKind kDatasetFile{"linklab-dataset", 1};

void WriteMetrics(const std::string& path, const core::MetricsLog& log, const Attributes& attrs) {
  WriteTables(path, kMetricsFile, log, attrs);
}

core::MetricsLog ReadMetrics(const std::string& path, Attributes* attrs) {
  return ReadTables(path, kMetricsFile, attrs);
}

void WriteTables(const std::string& path, const FileKind& kind, const core::MetricsLog& log,
                 const Attributes& attrs) {
  h5::QuietErrors quiet;
  const std::string tmp = path + ".tmp";
  try {
    H5::H5File file(tmp, H5F_ACC_TRUNC);
    H5::Group root = file.openGroup("/");
    h5::SetText(root, "kind", kind.name);
    h5::SetInt(root, "layout_version", kind.version);
    for (const auto& [k, v] : attrs.text) h5::SetText(root, k, v);
    for (const auto& [k, v] : attrs.ints) h5::SetInt(root, k, v);
    for (const auto& [name, table] : log.tables()) {
      H5::Group g = h5::EnsureGroup(file, "/" + name);
      for (size_t c = 0; c < table.columns.size(); ++c) {
        h5::WriteDoubles(g, table.columns[c], table.data[c]);
      }
    }
    file.close();
  } catch (const H5::Exception& e) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write " + path + ": " + e.getDetailMsg());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
  }
}

core::MetricsLog ReadTables(const std::string& path, const FileKind& kind, Attributes* attrs) {
  h5::QuietErrors quiet;
  core::MetricsLog log;
  try {
    H5::H5File file(path, H5F_ACC_RDONLY);
    H5::Group root = file.openGroup("/");
    if (!root.attrExists("kind") || h5::GetText(root, "kind") != kind.name) {
      throw std::runtime_error(
          path + ": not a " + kind.name +
          " file (kind = " + (root.attrExists("kind") ? h5::GetText(root, "kind") : "none") + ")");
    }
    const int64_t version = h5::GetInt(root, "layout_version");
    if (version != kind.version) {
      throw std::runtime_error(path + ": " + kind.name + " layout version " +
                               std::to_string(version) + ", this build reads version " +
                               std::to_string(kind.version));
    }
    if (attrs) {
      for (unsigned i = 0; i < static_cast<unsigned>(root.getNumAttrs()); ++i) {
        H5::Attribute a = root.openAttribute(i);
        const std::string name = a.getName();
        if (a.getTypeClass() == H5T_STRING)
          attrs->text.emplace_back(name, h5::GetText(root, name));
        else if (a.getTypeClass() == H5T_INTEGER)
          attrs->ints.emplace_back(name, h5::GetInt(root, name));
      }
    }
    // Tables are the groups whose members are datasets, at any depth.
    std::vector<std::string> pending = {"/"};
    while (!pending.empty()) {
      const std::string gpath = pending.back();
      pending.pop_back();
      H5::Group g = file.openGroup(gpath);
      core::MetricsLog::Table table;
      for (hsize_t i = 0; i < g.getNumObjs(); ++i) {
        const std::string child = g.getObjnameByIdx(i);
        const std::string full = (gpath == "/" ? "" : gpath) + "/" + child;
        if (g.getObjTypeByIdx(i) == H5G_GROUP) {
          pending.push_back(full);
        } else if (g.getObjTypeByIdx(i) == H5G_DATASET) {
          table.columns.push_back(child);
          table.data.push_back(h5::ReadDoubles(file.openDataSet(full)));
          table.rows = table.data.back().size();
        }
      }
      if (!table.columns.empty()) log.SetTable(gpath.substr(1), std::move(table));
    }
  } catch (const H5::Exception& e) {
    throw std::runtime_error("cannot read " + path + ": " + e.getDetailMsg());
  }
  return log;
}

}  // namespace linklab::datasets

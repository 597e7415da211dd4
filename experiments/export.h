#pragma once
// `linklab export`: ONNX files of trained runs (models/onnx_export.h), and their listing.

#include <string>

namespace linklab::experiments {

// Writes the ONNX file of `run_dir`'s trained policy (its policy.bin: a run folder or one of
// its checkpoints) or predictor (a predictor run folder) to `out` (atomically) and checks that
// the runtime (models/onnx_runtime.h) loads it; returns a one-line description. Throws
// std::invalid_argument naming the folder when it holds neither or its agent has no network.
std::string ExportRun(const std::string& run_dir, const std::string& out);

// A readable listing of an ONNX file: producer, opset, inputs, outputs, ops and metadata
// (long values cut unless `full`).
std::string InspectOnnxFile(const std::string& path, bool full = false);

}  // namespace linklab::experiments

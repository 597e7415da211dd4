#pragma once
// Recurrent predictors (libtorch): the source documents' LSTM/GRU architectures, registered by
// name in the model registry (models/model.h). Each maps a window of feature vectors
// [rows, window, input_size] to output_size values, trained by Adam on the mean squared error.
//
//   input [rows, window, features]
//     -> recurrent layers (LSTM or GRU, `units` each; each followed by dropout in training)
//     -> the last time step
//     -> dense layers (ReLU)  -> BatchNorm (optional)  -> linear output [rows, outputs]
//
//   pba_v1             LSTM 128 -> LSTM 64 -> Dense 32 ReLU -> BatchNorm -> out (source 002;
//                      window 10, features bandwidth, latency, loss, jitter, hour, day)
//   pba_v3_datacenter  LSTM 128 -> LSTM 64 -> Dense 32 ReLU -> BatchNorm -> out (source 003;
//                      window 30)
//   pba_v3_internet    LSTM 256 -> LSTM 128 -> Dense 32 ReLU -> BatchNorm -> out (source 003;
//                      window 60)
//   traffic_v1         LSTM 64 -> LSTM 32 -> Dense 16 ReLU -> out (source 001; window 24, 10
//                      features, one output)
//   multi_horizon      three parallel branches, one per horizon (short: LSTM 64, medium: GRU
//                      64, long: LSTM 64), each -> Dense 32 ReLU -> its horizon's outputs
//                      (source 000; window 60)
//   rnn                any of these: cells, units, dense sizes, batchnorm, dropout as parameters
//
// Every entry's `window` parameter is the input window it was designed for (the data pipeline
// reads it). Deterministic under the context's seed on one machine (one torch thread by
// default). Included without torch: the implementation is in sequence_model.cc.

#include "models/model.h"

namespace linklab::models {

// Adds pba_v1, pba_v3_datacenter, pba_v3_internet, traffic_v1, multi_horizon and rnn to `registry`
// (once).
void RegisterSequenceModels(ModelRegistryType& registry);

}  // namespace linklab::models

#pragma once
// Slurm's command-line tools (sbatch, squeue, sacct, scontrol) for `linklab sweep --slurm`:
// found on PATH, run by fork/exec (experiments/process.h) with bounded waits, their output
// parsed. SLURM_CONF in the environment picks the cluster, as for any Slurm client.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace linklab::experiments {

class SlurmClient {
 public:
  // Finds the tools; std::runtime_error naming the missing one when Slurm is not installed.
  SlurmClient();

  // Throws std::runtime_error with scontrol's answer when the controller does not respond.
  void CheckReachable() const;
  // sbatch --parsable SCRIPT: the job id.
  std::string Submit(const std::string& script) const;
  // The array tasks of `jobs` the controller knows (queued, running, and finished ones for
  // MinJobAge), "<job>_<index>" -> state ("PENDING", "RUNNING", "FAILED", "TIMEOUT", ...) with
  // the reason or node after a space. Throws std::runtime_error when squeue fails for another
  // cause than jobs it no longer knows.
  std::map<std::string, std::string> QueueStates(const std::vector<std::string>& jobs) const;
  // The array tasks of `jobs` Slurm's accounting knows, "<job>_<index>" -> state ("COMPLETED",
  // "FAILED", "TIMEOUT", ...). Throws std::runtime_error with sacct's message when accounting
  // is not available (accounting_storage/none).
  std::map<std::string, std::string> AccountingStates(const std::vector<std::string>& jobs) const;

 private:
  std::string sbatch_, squeue_, sacct_, scontrol_;
};

// Whether a Slurm job state ("RUNNING", "PENDING (Priority)") is one of a job not yet ended.
bool SlurmActive(const std::string& state);

}  // namespace linklab::experiments

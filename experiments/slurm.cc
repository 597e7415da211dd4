#include "experiments/slurm.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/text.h"
#include "experiments/process.h"

namespace linklab::experiments {

namespace {

// Seconds a Slurm client may take to answer (its own retries included).
constexpr double kSlurmTimeoutS = 60;

std::string Need(const std::string& program) {
  const std::string path = FindProgram(program);
  if (path.empty()) {
    throw std::runtime_error("Slurm is not installed: no " + program +
                             " on PATH (Debian: apt-get install slurm-client); nothing submitted");
  }
  return path;
}

// "job_index|STATE|detail" lines -> map; `what` names the tool in messages.
std::map<std::string, std::string> ParseStates(const std::string& out) {
  std::map<std::string, std::string> states;
  for (const std::string& line : core::Split(out, '\n')) {
    const std::vector<std::string> f = core::Split(core::Trim(line), '|');
    if (f.size() < 2 || f[0].find('_') == std::string::npos ||
        f[0].find('[') != std::string::npos) {
      continue;  // a header, a step, or a pending range ("12_[3-5]") that -r would have split
    }
    std::string state = core::Split(core::Trim(f[1]), ' ')[0];  // "CANCELLED by 0" -> CANCELLED
    if (f.size() > 2 && !core::Trim(f[2]).empty()) state += " " + core::Trim(f[2]);
    states[core::Trim(f[0])] = state;
  }
  return states;
}

}  // namespace

SlurmClient::SlurmClient()
    : sbatch_(Need("sbatch")),
      squeue_(Need("squeue")),
      sacct_(Need("sacct")),
      scontrol_(Need("scontrol")) {
  // A SLURM_CONF naming no file makes every client retry for a minute before it fails.
  const char* conf = std::getenv("SLURM_CONF");
  if (conf && *conf && !std::filesystem::exists(conf)) {
    throw std::runtime_error(std::string("SLURM_CONF=") + conf +
                             ": no such file, so Slurm cannot be reached; nothing submitted");
  }
}

void SlurmClient::CheckReachable() const {
  Child ping({scontrol_, "ping"});
  if (!ping.Wait(kSlurmTimeoutS)) {
    ping.Stop();
    throw std::runtime_error("Slurm's controller does not answer: `scontrol ping` took over " +
                             core::FormatDouble(kSlurmTimeoutS) + " s; nothing submitted");
  }
  const std::string answer = FirstLines(ping.Out() + "\n" + ping.Err());
  if (ping.exit_code() != 0 || answer.find("is UP") == std::string::npos) {
    throw std::runtime_error("Slurm's controller is not reachable (`scontrol ping`: " + answer +
                             "); nothing submitted");
  }
}

std::string SlurmClient::Submit(const std::string& script) const {
  const std::string out = Run({sbatch_, "--parsable", script}, kSlurmTimeoutS);
  // "<job id>" or "<job id>;<cluster>"
  const std::string id = core::Split(core::Trim(out), ';')[0];
  core::ParseInt(id, "sbatch --parsable's job id");
  return id;
}

std::map<std::string, std::string> SlurmClient::QueueStates(
    const std::vector<std::string>& jobs) const {
  if (jobs.empty()) return {};
  // -t all: finished tasks too, for as long as the controller keeps them (MinJobAge).
  Child q({squeue_, "-h", "-r", "-t", "all", "-j", core::Join(jobs, ","), "-o", "%i|%T|%R"});
  if (!q.Wait(kSlurmTimeoutS)) {
    q.Stop();
    throw std::runtime_error("squeue took over " + core::FormatDouble(kSlurmTimeoutS) + " s");
  }
  if (q.exit_code() != 0) {
    // Jobs that have left the queue for good are "Invalid job id specified": none queued.
    if (q.Err().find("Invalid job id") != std::string::npos) return {};
    throw std::runtime_error(q.Failure());
  }
  return ParseStates(q.Out());
}

bool SlurmActive(const std::string& state) {
  for (const char* s : {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED",
                        "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"}) {
    if (core::StartsWith(state, s)) return true;
  }
  return false;
}

std::map<std::string, std::string> SlurmClient::AccountingStates(
    const std::vector<std::string>& jobs) const {
  if (jobs.empty()) return {};
  Child a({sacct_, "-n", "-P", "-X", "-j", core::Join(jobs, ","), "-o", "JobID,State"});
  if (!a.Wait(kSlurmTimeoutS)) {
    a.Stop();
    throw std::runtime_error("sacct took over " + core::FormatDouble(kSlurmTimeoutS) + " s");
  }
  if (a.exit_code() != 0) throw std::runtime_error(a.Failure());
  return ParseStates(a.Out());
}

}  // namespace linklab::experiments

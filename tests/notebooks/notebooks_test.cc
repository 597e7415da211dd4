// The notebooks of notebooks/ executed headless (jupyter nbconvert --execute) on small results
// made with the linklab binary (tests/notebooks/run_notebooks.sh); skipped, saying why, where
// Debian's jupyter-nbconvert, ipykernel, h5py or matplotlib is missing.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/files.h"
#include "experiments/process.h"

namespace {

namespace fs = std::filesystem;

TEST(Notebooks, EveryNotebookRunsHeadlessOnSmallResults) {
  const std::string work = ::testing::TempDir() + "/notebooks-" + std::to_string(::getpid());
  linklab::experiments::Child script(
      {"/bin/bash", std::string(LINKLAB_SOURCE_DIR) + "/tests/notebooks/run_notebooks.sh",
       LINKLAB_BINARY, work});
  ASSERT_TRUE(script.Wait(1200)) << "run_notebooks.sh took over 20 minutes";
  if (script.exit_code() == 77) GTEST_SKIP() << script.Err();
  ASSERT_EQ(script.exit_code(), 0) << script.Out() << script.Err();
  for (const char* name : {"learning_curves", "shaping_eval", "predictors", "calibration"}) {
    const std::string nb = work + "/notebooks/" + name + ".ipynb";
    ASSERT_TRUE(fs::exists(nb)) << nb;
    const std::string text = linklab::core::ReadFile(nb);
    EXPECT_NE(text.find("\"image/png\""), std::string::npos) << name << ": no figure";
    EXPECT_EQ(text.find("\"output_type\": \"error\""), std::string::npos) << name << ": an error";
  }
  fs::remove_all(work);
}

}  // namespace

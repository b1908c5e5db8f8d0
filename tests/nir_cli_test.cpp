// The NIR commands end to end, through the snnsim binary: export, import, and running a .nir file
// directly give the spikes of the original network.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_snnsim;

const std::string kExamples = std::string(SNNSIM_SOURCE_DIR) + "/examples/";

class NirCli : public testing::TemporaryFolderTest {
 protected:
  std::string file(const std::string& name) const { return path(name).string(); }
};

TEST_F(NirCli, ExportedLayerGraphRunsFromTheNirFileWithTheSameSpikes) {
  const std::string input = " --input " + kExamples + "data/conv-snn-input.npy -t 1 -q";
  // The soft resets of conv-snn need --approximate; without it nothing is written.
  const CommandResult refused =
      run_snnsim("export nir " + kExamples + "conv-snn.json -o " + file("conv.nir"));
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_THAT(refused.output, ::testing::HasSubstr("nodes/1 'if1' (if): soft reset"));
  EXPECT_FALSE(fs::exists(path("conv.nir")));

  const CommandResult exported = run_snnsim("export nir " + kExamples + "conv-snn.json -o " +
                                            file("conv.nir") + " --approximate");
  ASSERT_EQ(exported.status, 0) << exported.output;
  EXPECT_THAT(exported.output, ::testing::HasSubstr("wrote " + file("conv.nir")));

  ASSERT_EQ(
      run_snnsim("infer " + kExamples + "conv-snn.json" + input + " -o " + file("a.h5")).status, 0);
  const CommandResult direct =
      run_snnsim("infer " + file("conv.nir") + input + " -o " + file("b.h5"));
  ASSERT_EQ(direct.status, 0) << direct.output;
  // snnsim import writes the network file the direct run used.
  const CommandResult imported =
      run_snnsim("import nir " + file("conv.nir") + " -o " + file("conv.json"));
  ASSERT_EQ(imported.status, 0) << imported.output;
  ASSERT_TRUE(fs::exists(path("conv.h5")));
  ASSERT_EQ(run_snnsim("infer " + file("conv.json") + input + " -o " + file("c.h5")).status, 0);

  for (const char* other : {"b.h5", "c.h5"}) {
    const CommandResult same =
        run_snnsim("trace compare --exact " + file("a.h5") + " " + file(other));
    EXPECT_EQ(same.status, 0) << other << ": " << same.output;
  }
}

TEST_F(NirCli, ExportCheckListsWhatNirCannotExpress) {
  const CommandResult coba = run_snnsim("export check " + kExamples + "coba.json --target nir");
  EXPECT_EQ(coba.status, 1) << coba.output;
  EXPECT_THAT(coba.output, ::testing::HasSubstr("conductance-based synapses"));
  EXPECT_THAT(coba.output, ::testing::HasSubstr("refractory period"));
  const CommandResult linear =
      run_snnsim("export check " + kExamples + "linear-snn.json --target nir");
  EXPECT_EQ(linear.status, 1) << linear.output;  // soft resets
  EXPECT_EQ(run_snnsim("export check " + kExamples + "coba.json --target tpu").status, 2);
}

TEST_F(NirCli, ALayerGraphIsValidatedButNotRunAsAPopulationNetwork) {
  ASSERT_EQ(run_snnsim("export nir " + kExamples + "conv-snn.json -o " + file("conv.nir") +
                       " --approximate")
                .status,
            0);
  const CommandResult r = run_snnsim("run " + file("conv.nir") + " -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.output, ::testing::HasSubstr("a layer graph, not a population network; run it "
                                             "with snnsim infer"));
  const CommandResult valid = run_snnsim("validate " + file("conv.nir"));
  EXPECT_EQ(valid.status, 0) << valid.output;
  EXPECT_THAT(valid.output,
              ::testing::HasSubstr(file("conv.nir") + ": valid (layer graph, 7 nodes"));
}

}  // namespace
}  // namespace snnsim

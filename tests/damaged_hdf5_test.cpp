// HDF5 files with a damaged byte where HDF5 1.10 does not check it: the index of a string in the
// file's global heap. Reading such a string used to crash libhdf5 (SIGSEGV); each reader now ends
// in one line (docs/trace-format.md, "Damaged files").
#include <gmock/gmock.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sim/trace_reader.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

using ::testing::HasSubstr;
using testing::run_snnsim;

std::vector<char> read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::filesystem::path& file, const std::vector<char>& bytes) {
  std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

/// Damages the first reference to a string of the global heap: a heap ID is the collection's
/// address (8 bytes, after its 4-byte length) and the object's index in it (4 bytes), and the
/// index is what HDF5 1.10 uses unchecked. Returns false when the file has no such reference.
bool damage_first_heap_index(std::vector<char>& bytes) {
  const std::string signature = "GCOL";
  const auto heap = std::search(bytes.begin(), bytes.end(), signature.begin(), signature.end());
  if (heap == bytes.end()) return false;
  const std::uint64_t address = static_cast<std::uint64_t>(heap - bytes.begin());
  char pattern[8];
  std::memcpy(pattern, &address, sizeof pattern);  // little-endian, as HDF5 writes it
  for (auto at = bytes.begin();
       (at = std::search(at, bytes.end(), pattern, pattern + 8)) != bytes.end(); ++at) {
    std::uint32_t index = 0;
    if (bytes.end() - at < 12) break;
    std::memcpy(&index, &*(at + 8), sizeof index);
    if (index == 1) {  // the first string of the collection
      at[10] = static_cast<char>(at[10] ^ 0xff);
      return true;
    }
  }
  return false;
}

class DamagedHdf5 : public testing::TemporaryFolderTest {
 protected:
  /// Runs snnsim and checks that it refused the file in one line naming it as damaged.
  static void expect_one_line_refusal(const std::string& arguments, const std::string& file) {
    const testing::CommandResult result = run_snnsim(arguments);
    EXPECT_EQ(result.status, 1) << arguments << " (-1: killed by a signal):\n" << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
    EXPECT_THAT(result.output, HasSubstr(file));
    EXPECT_THAT(result.output, HasSubstr("damaged"));
  }
};

TEST_F(DamagedHdf5, TraceWithADamagedStringIndexIsRefusedInOneLine) {
  const std::filesystem::path trace = path("t.h5");
  TraceMetadata metadata;
  metadata.dt_s = 1e-4;
  metadata.network_json = "{\"format\": \"snnsim-network\"}";
  {
    TraceWriter writer(trace, metadata, {testing::trace_population("E", 10, true)});
    writer.append_spikes(0, 3, std::vector<NeuronIndex>{1, 2});
    writer.finish(true, 10);
  }
  ASSERT_EQ(run_snnsim("trace summary " + trace.string()).status, 0);
  std::vector<char> bytes = read_bytes(trace);
  ASSERT_TRUE(damage_first_heap_index(bytes));
  write_bytes(trace, bytes);
  expect_one_line_refusal("trace summary " + trace.string(), trace.string());
  // In this process too: the reader's check runs the damaged read in a child process.
  try {
    TraceReader reader(trace);
    ADD_FAILURE() << "the damaged trace was opened";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("damaged HDF5 file"));
  }
}

TEST_F(DamagedHdf5, NirFilesWithADamagedStringIndexAreRefusedInOneLine) {
  // A NIR file of the reference package (tests/fixtures/nir), damaged at the byte
  // tools/reliability/flip_bytes.sh found: the index of an edge's name in the global heap.
  const std::filesystem::path fixture =
      std::filesystem::path(SNNSIM_SOURCE_DIR) / "tests/fixtures/nir/lif.nir";
  std::vector<char> bytes = read_bytes(fixture);
  constexpr std::size_t kEdgeNameIndex = 8646;
  ASSERT_GT(bytes.size(), kEdgeNameIndex);
  bytes[kEdgeNameIndex] = static_cast<char>(bytes[kEdgeNameIndex] ^ 0xff);
  const std::filesystem::path edge = path("edge.nir");
  write_bytes(edge, bytes);
  expect_one_line_refusal("validate " + edge.string(), edge.string());
  expect_one_line_refusal("import nir " + edge.string() + " -o " + path("net.json").string(),
                          edge.string());
  EXPECT_FALSE(std::filesystem::exists(path("net.json")));
  // A file snnsim writes, damaged where its own tool puts strings: the node type "NIRGraph".
  const std::filesystem::path exported = path("linear.nir");
  ASSERT_EQ(run_snnsim("export nir " + std::string(SNNSIM_SOURCE_DIR) +
                       "/examples/linear-snn.json --approximate -o " + exported.string())
                .status,
            0);
  bytes = read_bytes(exported);
  ASSERT_TRUE(damage_first_heap_index(bytes));
  write_bytes(exported, bytes);
  expect_one_line_refusal("validate " + exported.string(), exported.string());
}

}  // namespace
}  // namespace snnsim

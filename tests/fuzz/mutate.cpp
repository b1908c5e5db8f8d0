// fuzz_mutate: the blind random-mutation pass of tools/fuzz.sh (docs/fuzzing.md), independent of
// libFuzzer's coverage-guided mutations. It writes COUNT files into OUT_FOLDER, each a seed of
// SEED_FOLDER (taken in turn) with 1 to 8 random edits: a flipped bit, a random or boundary byte,
// a run of bytes deleted, duplicated or inserted, or the file cut short. The same RANDOM_SEED gives
// the same files, so that a crash of the pass can be reproduced by rerunning it.
//
//   fuzz_mutate SEED_FOLDER OUT_FOLDER COUNT RANDOM_SEED
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<unsigned char>;

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Bytes at the edges of the ranges readers check: signs, sizes, lengths.
constexpr unsigned char kBoundaryBytes[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, '0', '9', '-',
                                            '"',  '{',  '}',  '[',  ']',  ',',  ':', 'e'};

void mutate_once(Bytes& bytes, std::mt19937_64& random) {
  const auto below = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  if (bytes.empty()) {
    bytes.push_back(static_cast<unsigned char>(below(256)));
    return;
  }
  const std::size_t at = below(bytes.size());
  const std::size_t run = std::min<std::size_t>(1 + below(16), bytes.size() - at);
  switch (below(7)) {
    case 0:
      bytes[at] ^= static_cast<unsigned char>(1u << below(8));
      break;
    case 1:
      bytes[at] = static_cast<unsigned char>(below(256));
      break;
    case 2:
      bytes[at] = kBoundaryBytes[below(sizeof kBoundaryBytes)];
      break;
    case 3:
      bytes.erase(bytes.begin() + at, bytes.begin() + at + run);
      break;
    case 4: {
      const Bytes copy(bytes.begin() + at, bytes.begin() + at + run);
      bytes.insert(bytes.begin() + below(bytes.size() + 1), copy.begin(), copy.end());
      break;
    }
    case 5:
      bytes.insert(bytes.begin() + at, run, kBoundaryBytes[below(sizeof kBoundaryBytes)]);
      break;
    default:
      bytes.resize(at);
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: fuzz_mutate SEED_FOLDER OUT_FOLDER COUNT RANDOM_SEED\n");
    return 2;
  }
  std::vector<std::filesystem::path> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1]))
    if (entry.is_regular_file()) seeds.push_back(entry.path());
  if (seeds.empty()) {
    std::fprintf(stderr, "fuzz_mutate: no seed files in %s\n", argv[1]);
    return 1;
  }
  std::sort(seeds.begin(), seeds.end());
  const std::filesystem::path out = argv[2];
  std::filesystem::create_directories(out);
  const std::size_t count = std::stoul(argv[3]);
  std::mt19937_64 random(std::stoull(argv[4]));
  for (std::size_t i = 0; i < count; ++i) {
    const std::filesystem::path& seed = seeds[i % seeds.size()];
    Bytes bytes = read_file(seed);
    const std::size_t edits = 1 + std::uniform_int_distribution<std::size_t>(0, 7)(random);
    for (std::size_t e = 0; e < edits; ++e)
      mutate_once(bytes, random);
    char name[32];
    std::snprintf(name, sizeof name, "mutation-%05zu-", i);
    std::ofstream(out / (name + seed.filename().string()), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  return 0;
}

// BERT vocab.txt files and texts (encoders/wordpiece.h): the vocabulary a language model's file
// names, and any text given to snnsim lm. Each input is tokenized with the fixture vocabulary
// (alone and as a pair), then read as a vocabulary itself.
#include <string_view>

#include "encoders/wordpiece.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using snnsim::WordPieceTokenizer;
  static const WordPieceTokenizer fixture =
      WordPieceTokenizer::from_file(SNNSIM_SOURCE_DIR "/tests/data/wordpiece/vocab.txt");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Invalid UTF-8 in a text is refused with std::invalid_argument, naming the byte.
  const auto text_refused = [](auto&& tokenize) {
    try {
      tokenize();
    } catch (const std::invalid_argument& error) {
      throw std::runtime_error(error.what());
    }
  };
  snnsim::fuzz::expect_clean_refusal([&] {
    text_refused([&] {
      const WordPieceTokenizer::Encoding one = fixture.encode(text, 64);
      fixture.decode(one.ids);
      fixture.encode_pair(text.substr(0, size / 2), text.substr(size / 2), 32);
    });
  });
  const std::filesystem::path path = snnsim::fuzz::write_input(data, size, "vocab.txt");
  snnsim::fuzz::expect_clean_refusal([&] {
    const WordPieceTokenizer vocabulary = WordPieceTokenizer::from_file(path);
    text_refused([&] { vocabulary.encode("The [MASK] is free software; you can copy it.", 16); });
  });
  return 0;
}

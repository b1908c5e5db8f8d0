// The WordPiece tokenizer against transformers' Python BertTokenizer: every case of
// tests/data/wordpiece/cases.jsonl (tools/reference/make_wordpiece_fixtures.py, which trained the
// vocab.txt next to it) gives the same ids, truncation and decoded text. Then the refusals: text
// that is not UTF-8, named by its byte offset, and vocabulary files with FILE:LINE.
#include "encoders/wordpiece.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Ids = std::vector<std::uint32_t>;

const fs::path kFixtures = fs::path(SNNSIM_SOURCE_DIR) / "tests" / "data" / "wordpiece";

const WordPieceTokenizer& fixture_tokenizer() {
  static const WordPieceTokenizer tokenizer =
      WordPieceTokenizer::from_file(kFixtures / "vocab.txt");
  return tokenizer;
}

std::vector<nlohmann::json> read_cases() {
  std::ifstream in(kFixtures / "cases.jsonl");
  std::vector<nlohmann::json> cases;
  for (std::string line; std::getline(in, line);)
    cases.push_back(nlohmann::json::parse(line));
  return cases;
}

TEST(WordPiece, ReadsTheFixtureVocabulary) {
  const WordPieceTokenizer& tokenizer = fixture_tokenizer();
  EXPECT_EQ(tokenizer.size(), 2000u);
  // tokenizers' trainer puts the special tokens first, in the order it was given them.
  EXPECT_EQ(tokenizer.pad(), 0u);
  EXPECT_EQ(tokenizer.unk(), 1u);
  EXPECT_EQ(tokenizer.cls(), 2u);
  EXPECT_EQ(tokenizer.sep(), 3u);
  EXPECT_EQ(tokenizer.mask(), 4u);
  EXPECT_EQ(tokenizer.token(tokenizer.mask()), "[MASK]");
  EXPECT_EQ(tokenizer.id("[SEP]"), tokenizer.sep());
  EXPECT_EQ(tokenizer.id("no such token"), std::nullopt);
  EXPECT_THROW(tokenizer.token(2000), std::out_of_range);
}

TEST(WordPiece, EqualsBertTokenizerOnEveryCase) {
  const WordPieceTokenizer& tokenizer = fixture_tokenizer();
  const std::vector<nlohmann::json> cases = read_cases();
  ASSERT_GE(cases.size(), 300u);
  for (const nlohmann::json& c : cases) {
    const std::string text = c.at("text");
    SCOPED_TRACE("text " + nlohmann::json(text).dump() +
                 (c.contains("text_pair") ? " pair " + c["text_pair"].dump() : ""));
    const bool pair = c.contains("text_pair");
    const std::string second = pair ? c["text_pair"].get<std::string>() : "";
    if (!pair) {
      EXPECT_EQ(tokenizer.tokenize(text), c.at("ids").get<Ids>());
    }
    for (const nlohmann::json& expected : c.at("encodings")) {
      const std::size_t max_length = expected.at("max_length");
      const WordPieceTokenizer::Encoding encoding =
          pair ? tokenizer.encode_pair(text, second, max_length)
               : tokenizer.encode(text, max_length);
      EXPECT_EQ(encoding.ids, expected.at("ids").get<Ids>()) << "max_length " << max_length;
      EXPECT_EQ(encoding.types,
                pair ? expected.at("types").get<Ids>() : Ids(encoding.ids.size(), 0))
          << "max_length " << max_length;
      EXPECT_EQ(encoding.truncated, expected.at("truncated").get<bool>())
          << "max_length " << max_length;
    }
    const Ids decoded =
        pair ? tokenizer.encode_pair(text, second, std::numeric_limits<std::size_t>::max()).ids
             : tokenizer.tokenize(text);
    EXPECT_EQ(tokenizer.decode(decoded), c.at("decoded").get<std::string>());
  }
}

TEST(WordPiece, OrdersSpacingMarksAsNfdDoes) {
  // The few marks that survive accent stripping but have a combining class: NFD puts U+1D16D
  // (class 226) after U+1D165 (216), across an accent of nonzero class that is then stripped,
  // but not across a mark of class 0 (U+0902). The fixture vocabulary has none of them.
  const WordPieceTokenizer tokenizer(std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                              "[MASK]", "a\U0001D165\U0001D16D",
                                                              "a\U0001D16D", "##\U0001D165"});
  EXPECT_EQ(tokenizer.tokenize("A\U0001D16D\U0001D165"), Ids{5});
  EXPECT_EQ(tokenizer.tokenize("A\U0001D16D\u0301\U0001D165"), Ids{5});
  EXPECT_EQ(tokenizer.tokenize("A\U0001D16D\u0902\U0001D165"), (Ids{6, 7}));
}

TEST(WordPiece, RefusesMaxLengthsWithoutRoomForTheSpecialTokens) {
  const WordPieceTokenizer& tokenizer = fixture_tokenizer();
  EXPECT_THROW(tokenizer.encode("text", 1), std::invalid_argument);
  EXPECT_THROW(tokenizer.encode_pair("a", "b", 2), std::invalid_argument);
  EXPECT_EQ(tokenizer.encode("text", 2).ids, (Ids{tokenizer.cls(), tokenizer.sep()}));
  EXPECT_THROW(tokenizer.decode(Ids{2000}), std::out_of_range);
}

TEST(WordPiece, TakesTimeLinearInTheText) {
  // Inputs that a quadratic scan would take minutes over: one word of 400,000 code points, and
  // capital sigmas whose final form depends on long runs of case-ignorable characters.
  const WordPieceTokenizer& tokenizer = fixture_tokenizer();
  EXPECT_EQ(tokenizer.tokenize(std::string(400'000, 'a')), Ids{tokenizer.unk()});
  std::string sigmas;
  for (int i = 0; i < 2000; ++i)
    sigmas += "\xCE\xA3" + std::string(100, '\'');  // U+03A3 and 100 apostrophes
  EXPECT_EQ(tokenizer.tokenize(sigmas).size(), 2000u * 101);
  std::string removed_inside_words;
  for (int i = 0; i < 20000; ++i)
    removed_inside_words += "a\xE2\x80\x8B";  // U+200B ZERO WIDTH SPACE, removed by cleaning
  EXPECT_EQ(tokenizer.tokenize(removed_inside_words), Ids{tokenizer.unk()});
}

struct InvalidText {
  std::string bytes;
  std::size_t offset;
  std::string reason;
};

TEST(WordPiece, RefusesInvalidUtf8NamingTheByteOffset) {
  const WordPieceTokenizer& tokenizer = fixture_tokenizer();
  const std::vector<InvalidText> cases = {
      {"ab\xC0\xAF", 2, "overlong"},                    // '/' in two bytes
      {"\xC1\xBF", 0, "overlong"},                      // DEL in two bytes
      {"x\xE0\x80\xAF", 1, "overlong"},                 // '/' in three bytes
      {"caf\xC3\xA9 \xF0\x82\x82\xAC", 6, "overlong"},  // U+20AC in four bytes
      {"abc\x80", 3, "continuation byte"},              // a lone continuation byte
      {"\xC3\xA9\xA9", 2, "continuation byte"},         // one too many
      {"\xED\xA0\x80", 0, "surrogate"},                 // U+D800
      {"ok \xED\xBF\xBF", 3, "surrogate"},              // U+DFFF
      {"\xF4\x90\x80\x80", 0, "above U+10FFFF"},        // U+110000
      {"\xF5\x80\x80\x80", 0, "cannot occur"},
      {"\xFF", 0, "cannot occur"},
      {"end \xC3", 4, "cut short"},       // é without its second byte
      {"\xE2\x82", 0, "cut short"},       // € without its third byte
      {"\xE2\x82x", 0, "cut short"},      // ... and another character instead
      {"\xF0\x9F\x98 ", 0, "cut short"},  // an emoji cut before a space
  };
  for (const InvalidText& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.bytes));
    try {
      tokenizer.tokenize(c.bytes);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("invalid UTF-8 at byte " + std::to_string(c.offset) + ":"));
      EXPECT_THAT(e.what(), HasSubstr(c.reason));
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
  }
  EXPECT_THROW(tokenizer.encode("\xFF", 16), std::invalid_argument);
  try {
    tokenizer.encode_pair("fine", "x\xC0\x80", 16);
    ADD_FAILURE() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("second text: invalid UTF-8 at byte 1"));
  }
  // The extremes of valid UTF-8 pass: U+10FFFF, U+FFFF, U+E000 and U+D7FF (around the
  // surrogates) and U+0080.
  EXPECT_NO_THROW(
      tokenizer.tokenize("\xF4\x8F\xBF\xBF \xEF\xBF\xBF \xEE\x80\x80 \xED\x9F\xBF \xC2\x80"));
}

class WordPieceVocabulary : public testing::TemporaryFolderTest {
 protected:
  /// The message from_file throws for a vocab.txt of `bytes`, checked to be one line that
  /// starts with the file's name.
  std::string error_for(const std::string& bytes) const {
    const fs::path file = path("vocab.txt");
    testing::write_file(file.string(), bytes);
    try {
      WordPieceTokenizer::from_file(file);
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_THAT(message, ::testing::StartsWith(file.string() + ":"));
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      return message.substr(file.string().size());
    }
    ADD_FAILURE() << "no error";
    return {};
  }
  static constexpr const char* kSpecial = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
};

TEST_F(WordPieceVocabulary, RefusesInvalidUtf8WithItsLine) {
  EXPECT_THAT(error_for(std::string(kSpecial) + "ok\nb\xC3\n"),
              HasSubstr(":7: invalid UTF-8 at byte 1 of the token"));
  EXPECT_THAT(error_for("\xED\xA0\x80\n" + std::string(kSpecial)), HasSubstr(":1: invalid UTF-8"));
}

TEST_F(WordPieceVocabulary, RefusesADuplicateTokenWithBothLines) {
  EXPECT_THAT(error_for(std::string(kSpecial) + "the\n##s\nthe\n"),
              HasSubstr(":8: duplicate token \"the\" (first on line 6)"));
}

TEST_F(WordPieceVocabulary, RefusesAMissingSpecialToken) {
  EXPECT_THAT(error_for("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n##s\n"),
              HasSubstr(":6: the vocabulary has no [MASK] token"));
  EXPECT_THAT(error_for("[PAD]\n[UNK]\n[cls]\n[SEP]\n[MASK]"),
              HasSubstr(":5: the vocabulary has no [CLS]"));
}

TEST_F(WordPieceVocabulary, RefusesAnEmptyOrMissingFile) {
  EXPECT_THAT(error_for(""), HasSubstr(":1: empty vocabulary"));
  try {
    WordPieceTokenizer::from_file(path("missing.txt"));
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path("missing.txt").string() + ":1: cannot open"));
  }
}

TEST_F(WordPieceVocabulary, ReadsLinesAsPythonDoes) {
  // \r\n and \r end lines as \n does (Python's universal newlines); an empty line is a token and
  // a last line needs no end.
  testing::write_file(path("vocab.txt").string(),
                      "[PAD]\r\n[UNK]\r[CLS]\n\n[SEP]\r\n[MASK]\nun\n##aff\n##able");
  const WordPieceTokenizer tokenizer = WordPieceTokenizer::from_file(path("vocab.txt"));
  EXPECT_EQ(tokenizer.size(), 9u);
  EXPECT_EQ(tokenizer.token(3), "");
  EXPECT_EQ(tokenizer.sep(), 4u);
  EXPECT_EQ(tokenizer.tokenize("Unaffable unaffablex"), (Ids{6, 7, 8, tokenizer.unk()}));
  EXPECT_EQ(tokenizer.decode(Ids{6, 7, 8}), "unaffable");
}

TEST(WordPiece, ConstructorNamesTheIdOfABadToken) {
  try {
    WordPieceTokenizer(
        std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[PAD]"});
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("vocabulary token 5: duplicate token \"[PAD]\" (first with id 0)"));
  }
  EXPECT_THROW(WordPieceTokenizer(std::vector<std::string>{}), std::invalid_argument);
}

}  // namespace
}  // namespace snnsim

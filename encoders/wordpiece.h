#pragma once
// Text input of language models: BERT's WordPiece tokenizer, uncased, turning UTF-8 text into the
// token ids of a vocab.txt (docs/tokenizer.md).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace snnsim {

/// BERT's WordPiece tokenizer, as transformers' pure-Python BertTokenizer (BertTokenizerLegacy in
/// transformers 5) with do_lower_case=True, tokenize_chinese_chars=True and strip_accents=None:
/// 1. the special tokens [CLS], [SEP], [PAD], [MASK] and [UNK] written in the text are kept whole;
/// 2. the rest is cleaned (NUL, U+FFFD and control characters removed, whitespace made spaces),
///    CJK ideographs become words of their own, and it is split into words at whitespace;
/// 3. each word is lowercased as Python's str.lower() does, decomposed (NFD) and stripped of
///    nonspacing marks (accents), then split at punctuation (ASCII symbols and Unicode P*);
/// 4. each piece is split into the longest vocabulary tokens from its start, "##" marking those
///    that continue a word; a piece of over 100 code points, or one that cannot be split, gives
///    one [UNK].
/// The Unicode data are Python 3.11's (Unicode 14.0). Tokenizing takes time linear in the text's
/// length. Immutable once built, so one tokenizer may serve several threads.
class WordPieceTokenizer {
 public:
  /// Reads a vocab.txt: UTF-8, one token per line (ended by \n, \r\n or \r, as Python reads
  /// it), id = line number - 1. Throws std::runtime_error with one line "FILE:LINE: ..." for a
  /// file that cannot be opened, an empty file, invalid UTF-8, a duplicate token or a missing
  /// [CLS], [SEP], [PAD], [MASK] or [UNK] (reported at the last line).
  static WordPieceTokenizer from_file(const std::filesystem::path& vocab);
  /// A tokenizer over `tokens` (id = index). Throws std::invalid_argument, naming the id, for
  /// the same faults as from_file.
  explicit WordPieceTokenizer(std::vector<std::string> tokens);

  /// The token ids of `text`, without [CLS] and [SEP]. Throws std::invalid_argument naming the
  /// byte offset of the first invalid UTF-8 sequence (overlong, surrogate, above U+10FFFF,
  /// truncated or a stray continuation byte).
  std::vector<std::uint32_t> tokenize(std::string_view text) const;

  /// What a model takes in: ids, their token types (0 for the first text, 1 for the second) and
  /// whether tokens were cut off to fit max_length.
  struct Encoding {
    std::vector<std::uint32_t> ids, types;
    bool truncated = false;
  };
  /// [CLS] text [SEP], the text's tokens cut at the end to fit max_length tokens in all.
  /// Throws std::invalid_argument for invalid UTF-8 or a max_length below 2.
  Encoding encode(std::string_view text, std::size_t max_length) const;
  /// [CLS] a [SEP] b [SEP], types 0 up to the first [SEP] and 1 after. Cut to max_length tokens
  /// longest first, as HF's truncation=True: one token at a time from the end of the longer
  /// text, of b when they are equally long. Throws std::invalid_argument for invalid UTF-8 or a
  /// max_length below 3.
  Encoding encode_pair(std::string_view a, std::string_view b, std::size_t max_length) const;

  /// Text from token ids as HF's decode does: the tokens joined by spaces, " ##" removed, spaces
  /// trimmed, then the spaces before . ? ! , and contractions taken out
  /// (clean_up_tokenization_spaces). Special tokens are kept. Throws std::out_of_range for an id
  /// not below size().
  std::string decode(std::span<const std::uint32_t> ids) const;

  std::size_t size() const { return tokens_.size(); }
  /// The token of `id`; throws std::out_of_range for an id not below size().
  const std::string& token(std::uint32_t id) const;
  std::optional<std::uint32_t> id(std::string_view token) const;
  std::uint32_t cls() const { return cls_; }
  std::uint32_t sep() const { return sep_; }
  std::uint32_t pad() const { return pad_; }
  std::uint32_t mask() const { return mask_; }
  std::uint32_t unk() const { return unk_; }

 private:
  /// Hashes std::string and std::string_view alike, so that maps keyed by std::string are
  /// searched with views of the text without building a string.
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using TokenMap = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

  struct Scratch;
  WordPieceTokenizer() = default;
  void index_tokens();
  void tokenize_segment(std::string_view segment, Scratch& scratch,
                        std::vector<std::uint32_t>& ids) const;
  void tokenize_word(std::string_view word, Scratch& scratch,
                     std::vector<std::uint32_t>& ids) const;
  void add_word_pieces(Scratch& scratch, std::vector<std::uint32_t>& ids) const;
  std::optional<std::uint32_t> special_token_spelled_by(std::string_view word) const;

  std::vector<std::string> tokens_;
  TokenMap ids_;                                              ///< every token
  TokenMap continuation_;                                     ///< tokens "##x", keyed by x
  std::size_t longest_token_ = 0, longest_continuation_ = 0;  ///< in code points
  std::uint32_t cls_ = 0, sep_ = 0, pad_ = 0, mask_ = 0, unk_ = 0;
};

}  // namespace snnsim

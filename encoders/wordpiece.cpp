#include "encoders/wordpiece.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "encoders/unicode_tables.inc"

namespace snnsim {
namespace {

/// What BERT's BasicTokenizer makes of a code point; the values are those of
/// tools/reference/make_unicode_tables.py, which writes them into kClassRuns.
enum class CharClass : std::uint8_t {
  other,
  removed,            ///< NUL, U+FFFD and control characters (C*) but \t \n \r: dropped
  whitespace,         ///< \t \n \r, Zs, Zl and Zp: ends a word
  punctuation,        ///< non-alphanumeric ASCII and P*: a word piece of its own
  cjk,                ///< a CJK ideograph: a word of its own
  mark_starter,       ///< a nonspacing mark (Mn, an accent) of combining class 0: stripped
  mark_combining,     ///< a nonspacing mark of another combining class: stripped
  spacing_combining,  ///< a spacing mark of nonzero combining class: kept, canonically ordered
};

/// Cased and Case_Ignorable, for the final-sigma rule of Python's str.lower().
enum class SigmaContext : std::uint8_t { uncased, cased, case_ignorable };

/// The value of the run of `runs` (first code point << shift | value) that holds `cp`.
std::uint32_t run_value(std::span<const std::uint32_t> runs, char32_t cp, int shift) {
  const std::uint32_t key = (static_cast<std::uint32_t>(cp) << shift) | ((1u << shift) - 1);
  return *(std::upper_bound(runs.begin(), runs.end(), key) - 1) & ((1u << shift) - 1);
}

constexpr std::array<CharClass, 128> ascii_classes() {
  std::array<CharClass, 128> classes{};
  for (std::uint32_t run = 0; (unicode_tables::kClassRuns[run] >> 4) < 128; ++run) {
    const std::uint32_t end = unicode_tables::kClassRuns[run + 1] >> 4;
    for (std::uint32_t cp = unicode_tables::kClassRuns[run] >> 4; cp < std::min(end, 128u); ++cp)
      classes[cp] = static_cast<CharClass>(unicode_tables::kClassRuns[run] & 0xF);
  }
  return classes;
}
constexpr std::array<CharClass, 128> kAsciiClasses = ascii_classes();

CharClass char_class(char32_t cp) {
  if (cp < 128) return kAsciiClasses[cp];
  return static_cast<CharClass>(run_value(unicode_tables::kClassRuns, cp, 4));
}

SigmaContext sigma_context(char32_t cp) {
  return static_cast<SigmaContext>(run_value(unicode_tables::kSigmaContextRuns, cp, 2));
}

constexpr char32_t kCapitalSigma = 0x3A3, kSmallSigma = 0x3C3, kFinalSigma = 0x3C2;
/// U+0130 (capital I with dot above), the one character whose lowercase has two code points.
constexpr char32_t kCapitalIWithDot = 0x130, kCombiningDotAbove = 0x307;

/// Python's str.lower() of one code point but the capital sigma (which depends on its
/// neighbours): writes one or two code points to `lower` and returns how many.
int lowercase(char32_t cp, std::array<char32_t, 2>& lower) {
  lower[0] = cp;
  if (cp < 128) {
    if (cp >= 'A' && cp <= 'Z') lower[0] = cp + ('a' - 'A');
    return 1;
  }
  if (cp == kCapitalIWithDot) {
    lower = {U'i', kCombiningDotAbove};
    return 2;
  }
  const auto& runs = unicode_tables::kLowercaseRuns;
  const auto* run = std::upper_bound(std::begin(runs), std::end(runs), cp,
                                     [](char32_t c, const auto& r) { return c < r.first; });
  if (run == std::begin(runs)) return 1;
  --run;
  const std::uint32_t step = cp - run->first;
  if (step % run->stride == 0 && step / run->stride < run->count) lower[0] = cp + run->offset;
  return 1;
}

constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;
constexpr char32_t kLeadingJamo = 0x1100, kVowelJamo = 0x1161, kTrailingJamo = 0x11A7;
constexpr char32_t kVowelCount = 21, kTrailingCount = 28;

/// Passes the canonical decomposition of `cp` (its NFD) to `sink`, one code point at a time.
template <class Sink>
void decompose(char32_t cp, Sink&& sink) {
  if (cp < 0xC0) {  // the first code point with a decomposition
    sink(cp);
    return;
  }
  if (cp >= kHangulFirst && cp <= kHangulLast) {  // Unicode's formula for Hangul syllables
    const char32_t index = cp - kHangulFirst;
    sink(kLeadingJamo + index / (kVowelCount * kTrailingCount));
    sink(kVowelJamo + index % (kVowelCount * kTrailingCount) / kTrailingCount);
    if (index % kTrailingCount != 0) sink(kTrailingJamo + index % kTrailingCount);
    return;
  }
  const auto& table = unicode_tables::kDecompositions;
  const auto* entry = std::lower_bound(std::begin(table), std::end(table), cp,
                                       [](const auto& e, char32_t c) { return e[0] < c; });
  if (entry == std::end(table) || (*entry)[0] != cp) {
    sink(cp);
    return;
  }
  // Only the first part of a canonical decomposition can decompose further (the table's
  // generator checks it).
  decompose((*entry)[1], sink);
  if ((*entry)[2] != 0) sink((*entry)[2]);
}

/// The canonical combining class of a spacing_combining mark.
std::uint32_t spacing_mark_class(char32_t cp) {
  for (const auto& [mark, combining_class] : unicode_tables::kSpacingMarkClasses) {
    if (mark == cp) return combining_class;
  }
  return 0;
}

struct InvalidUtf8 {
  std::size_t offset;
  const char* reason;
};

/// The first invalid UTF-8 sequence of `text`, if any.
std::optional<InvalidUtf8> find_invalid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[at + i]); };
    const std::uint8_t lead = byte(0);
    if (lead < 0x80) {
      ++at;
      continue;
    }
    std::size_t length;
    std::uint8_t second_min = 0x80, second_max = 0xBF;  // what the lead byte allows next
    if (lead < 0xC0) return InvalidUtf8{at, "continuation byte without a lead byte"};
    if (lead < 0xC2) return InvalidUtf8{at, "overlong encoding"};
    if (lead < 0xE0) {
      length = 2;
    } else if (lead < 0xF0) {
      length = 3;
      if (lead == 0xE0) second_min = 0xA0;  // below: overlong
      if (lead == 0xED) second_max = 0x9F;  // above: a surrogate
    } else if (lead < 0xF5) {
      length = 4;
      if (lead == 0xF0) second_min = 0x90;  // below: overlong
      if (lead == 0xF4) second_max = 0x8F;  // above: beyond U+10FFFF
    } else {
      return InvalidUtf8{at, "byte that cannot occur in UTF-8"};
    }
    for (std::size_t i = 1; i < length; ++i) {
      if (at + i >= text.size()) return InvalidUtf8{at, "sequence cut short by the end"};
      if (byte(i) < 0x80 || byte(i) > 0xBF) return InvalidUtf8{at, "sequence cut short"};
    }
    if (byte(1) < second_min) return InvalidUtf8{at, "overlong encoding"};
    if (byte(1) > second_max)
      return InvalidUtf8{at, lead == 0xED ? "surrogate code point" : "code point above U+10FFFF"};
    at += length;
  }
  return std::nullopt;
}

struct DecodedChar {
  char32_t cp;
  std::size_t length;
};

/// The code point at `at` of valid UTF-8.
DecodedChar decode_at(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[at + i]); };
  const std::uint8_t lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  if (lead < 0xE0) return {char32_t(lead & 0x1F) << 6 | (byte(1) & 0x3F), 2};
  if (lead < 0xF0)
    return {char32_t(lead & 0x0F) << 12 | char32_t(byte(1) & 0x3F) << 6 | (byte(2) & 0x3F), 3};
  return {char32_t(lead & 0x07) << 18 | char32_t(byte(1) & 0x3F) << 12 |
              char32_t(byte(2) & 0x3F) << 6 | (byte(3) & 0x3F),
          4};
}

/// The start of the code point that ends just before `at` in valid UTF-8.
std::size_t previous_char(std::string_view text, std::size_t at) {
  do {
    --at;
  } while ((static_cast<std::uint8_t>(text[at]) & 0xC0) == 0x80);
  return at;
}

/// Appends the UTF-8 of `cp` to `out`; returns the number of bytes.
std::size_t encode_utf8(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | cp >> 6);
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | cp >> 12);
    out[1] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | cp >> 18);
  out[1] = static_cast<char>(0x80 | (cp >> 12 & 0x3F));
  out[2] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

std::size_t count_code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<std::uint8_t>(c) & 0xC0) != 0x80;
  }));
}

/// Whether str.lower() turns the capital sigma at [at, end) of `word` into the final sigma:
/// after a cased character and not before one, case-ignorable characters (and those cleaning
/// removed) passed over.
bool is_final_sigma(std::string_view word, std::size_t at, std::size_t end) {
  bool after_cased = false;
  for (std::size_t before = at; before > 0;) {
    before = previous_char(word, before);
    const char32_t cp = decode_at(word, before).cp;
    if (char_class(cp) == CharClass::removed) continue;
    const SigmaContext context = sigma_context(cp);
    if (context == SigmaContext::case_ignorable) continue;
    after_cased = context == SigmaContext::cased;
    break;
  }
  if (!after_cased) return false;
  for (std::size_t after = end; after < word.size();) {
    const auto [cp, length] = decode_at(word, after);
    after += length;
    if (char_class(cp) == CharClass::removed) continue;
    const SigmaContext context = sigma_context(cp);
    if (context == SigmaContext::case_ignorable) continue;
    return context != SigmaContext::cased;
  }
  return true;
}

/// The longest word piece WordpieceTokenizer splits; a longer one is [UNK] (its
/// max_input_chars_per_word).
constexpr std::size_t kMaxPieceChars = 100;
constexpr std::array<std::string_view, 5> kSpecialTokens = {"[CLS]", "[SEP]", "[PAD]", "[MASK]",
                                                            "[UNK]"};
constexpr std::size_t kLongestSpecialToken = 6;

/// A fault of a token list; from_file names the line, the constructor the id.
struct VocabularyFault {
  std::size_t id;
  std::string what;
  std::optional<std::size_t> first_id = std::nullopt;  ///< of the token a duplicate repeats
};

std::string replace_all(const std::string& text, std::string_view from, std::string_view to) {
  std::string result;
  std::size_t start = 0;
  for (std::size_t found; (found = text.find(from, start)) != std::string::npos;
       start = found + from.size()) {
    result.append(text, start, found - start);
    result += to;
  }
  result.append(text, start);
  return result;
}

/// Python's str.isspace(): the whitespace class and the control characters it counts as spaces.
bool is_python_space(char32_t cp) {
  return cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1F) || cp == 0x85 ||
         char_class(cp) == CharClass::whitespace;
}

}  // namespace

/// The word piece being assembled (at most kMaxPieceChars code points; a longer one is only
/// marked too long) and the buffers its lookups use, kept across words so that tokenizing
/// allocates nothing per character.
struct WordPieceTokenizer::Scratch {
  std::array<char32_t, kMaxPieceChars> piece;
  std::size_t length = 0;
  bool too_long = false;
  /// Where the spacing marks of the current run of nonzero combining classes start in `piece`:
  /// NFD orders such a run by combining class, and these marks survive accent stripping.
  std::size_t run_start = 0;
  std::array<char, 4 * kMaxPieceChars> utf8;
  std::array<std::uint16_t, kMaxPieceChars + 1> boundaries;  ///< of code points in utf8

  void append(char32_t cp) {
    if (length == kMaxPieceChars) too_long = true;
    if (too_long) return;
    piece[length++] = cp;
    run_start = length;
  }
  /// Appends a spacing mark of combining class `combining_class` behind the marks of the
  /// current run with a class not above it.
  void insert_ordered(char32_t cp, std::uint32_t combining_class) {
    if (length == kMaxPieceChars) too_long = true;
    if (too_long) return;
    std::size_t at = length;
    while (at > run_start && spacing_mark_class(piece[at - 1]) > combining_class)
      --at;
    std::copy_backward(piece.begin() + at, piece.begin() + length, piece.begin() + length + 1);
    piece[at] = cp;
    ++length;
  }
};

WordPieceTokenizer WordPieceTokenizer::from_file(const std::filesystem::path& vocab) {
  std::ifstream in(vocab, std::ios::binary);
  if (!in) throw std::runtime_error(vocab.string() + ":1: cannot open the vocabulary file");
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  // Lines end at \n, \r\n or \r, as Python's universal newlines (BertTokenizer's open()) read
  // them; a last line without an end counts.
  std::vector<std::string> tokens;
  for (std::size_t start = 0; start < bytes.size();) {
    const std::size_t end = std::min(bytes.find_first_of("\r\n", start), bytes.size());
    tokens.emplace_back(bytes, start, end - start);
    start = end + (bytes.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  WordPieceTokenizer tokenizer;
  tokenizer.tokens_ = std::move(tokens);
  try {
    tokenizer.index_tokens();
  } catch (const VocabularyFault& fault) {
    std::string message = vocab.string() + ":" + std::to_string(fault.id + 1) + ": " + fault.what;
    if (fault.first_id) message += " (first on line " + std::to_string(*fault.first_id + 1) + ")";
    throw std::runtime_error(message);
  }
  return tokenizer;
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)) {
  try {
    index_tokens();
  } catch (const VocabularyFault& fault) {
    std::string message = "vocabulary token " + std::to_string(fault.id) + ": " + fault.what;
    if (fault.first_id) message += " (first with id " + std::to_string(*fault.first_id) + ")";
    throw std::invalid_argument(message);
  }
}

void WordPieceTokenizer::index_tokens() {
  if (tokens_.empty()) throw VocabularyFault{0, "empty vocabulary, expected one token per line"};
  ids_.reserve(tokens_.size());
  for (std::uint32_t id = 0; id < tokens_.size(); ++id) {
    const std::string& token = tokens_[id];
    if (const auto invalid = find_invalid_utf8(token)) {
      throw VocabularyFault{id, "invalid UTF-8 at byte " + std::to_string(invalid->offset) +
                                    " of the token: " + invalid->reason};
    }
    if (const auto [at, inserted] = ids_.emplace(token, id); !inserted)
      throw VocabularyFault{id, "duplicate token \"" + token + "\"", at->second};
    longest_token_ = std::max(longest_token_, count_code_points(token));
    if (token.starts_with("##")) {
      continuation_.emplace(token.substr(2), id);
      longest_continuation_ = std::max(longest_continuation_, count_code_points(token) - 2);
    }
  }
  const std::array<std::uint32_t*, kSpecialTokens.size()> special_ids = {&cls_, &sep_, &pad_,
                                                                         &mask_, &unk_};
  for (std::size_t i = 0; i < kSpecialTokens.size(); ++i) {
    const auto found = ids_.find(kSpecialTokens[i]);
    if (found == ids_.end()) {
      throw VocabularyFault{
          tokens_.size() - 1,
          "the vocabulary has no " + std::string(kSpecialTokens[i]) + " token, which BERT needs"};
    }
    *special_ids[i] = found->second;
  }
}

std::vector<std::uint32_t> WordPieceTokenizer::tokenize(std::string_view text) const {
  if (const auto invalid = find_invalid_utf8(text)) {
    throw std::invalid_argument("invalid UTF-8 at byte " + std::to_string(invalid->offset) + ": " +
                                invalid->reason);
  }
  std::vector<std::uint32_t> ids;
  Scratch scratch;
  // Special tokens written in the text stand for themselves (HF splits the text at them before
  // tokenizing the rest). None contains another, so the first match at each '[' is the one.
  std::size_t segment_start = 0;
  for (std::size_t at = text.find('['); at != std::string_view::npos; at = text.find('[', at)) {
    const std::string_view rest = text.substr(at, kLongestSpecialToken);
    const auto* special = std::find_if(kSpecialTokens.begin(), kSpecialTokens.end(),
                                       [&](std::string_view s) { return rest.starts_with(s); });
    if (special == kSpecialTokens.end()) {
      ++at;
      continue;
    }
    tokenize_segment(text.substr(segment_start, at - segment_start), scratch, ids);
    ids.push_back(ids_.find(*special)->second);
    at += special->size();
    segment_start = at;
  }
  tokenize_segment(text.substr(segment_start), scratch, ids);
  return ids;
}

void WordPieceTokenizer::tokenize_segment(std::string_view segment, Scratch& scratch,
                                          std::vector<std::uint32_t>& ids) const {
  // Words run from a kept character to the last one before whitespace, a CJK ideograph or the
  // end; characters that cleaning removes may lie inside (they join their neighbours).
  std::size_t word_start = std::string_view::npos, word_end = 0;
  const auto end_word = [&] {
    if (word_start == std::string_view::npos) return;
    tokenize_word(segment.substr(word_start, word_end - word_start), scratch, ids);
    word_start = std::string_view::npos;
  };
  for (std::size_t at = 0; at < segment.size();) {
    const auto [cp, length] = decode_at(segment, at);
    switch (char_class(cp)) {
      case CharClass::removed:
        break;
      case CharClass::whitespace:
        end_word();
        break;
      case CharClass::cjk:
        end_word();
        tokenize_word(segment.substr(at, length), scratch, ids);
        break;
      default:
        if (word_start == std::string_view::npos) word_start = at;
        word_end = at + length;
    }
    at += length;
  }
  end_word();
}

std::optional<std::uint32_t> WordPieceTokenizer::special_token_spelled_by(
    std::string_view word) const {
  // BasicTokenizer leaves a word alone that, cleaned and in NFC, is a special token: this can
  // only be one of ASCII characters and of those that NFC makes ASCII (U+212A KELVIN SIGN...),
  // with removed characters in between ("[MA\u200bSK]").
  std::array<char, kLongestSpecialToken> spelled;
  std::size_t length = 0;
  for (std::size_t at = 0; at < word.size();) {
    const auto [cp, bytes] = decode_at(word, at);
    at += bytes;
    if (char_class(cp) == CharClass::removed) continue;
    char32_t ascii = 0;
    int parts = 0;
    decompose(cp, [&](char32_t part) {
      ascii = part;
      ++parts;
    });
    if (parts != 1 || ascii >= 0x80 || length == spelled.size()) return std::nullopt;
    if (length == 0 && ascii != '[') return std::nullopt;
    spelled[length++] = static_cast<char>(ascii);
  }
  const std::string_view candidate(spelled.data(), length);
  for (std::string_view special : kSpecialTokens) {
    if (candidate == special) return ids_.find(special)->second;
  }
  return std::nullopt;
}

void WordPieceTokenizer::tokenize_word(std::string_view word, Scratch& scratch,
                                       std::vector<std::uint32_t>& ids) const {
  if (const auto special = special_token_spelled_by(word)) {
    ids.push_back(*special);
    return;
  }
  scratch.length = 0;
  scratch.too_long = false;
  scratch.run_start = 0;
  // str.lower(), then NFD, then accents (Mn) stripped and the word split at punctuation, each
  // step on what the one before gives, as BasicTokenizer does.
  const auto add_normalized = [&](char32_t cp) {
    switch (char_class(cp)) {
      case CharClass::mark_starter:
        scratch.run_start = scratch.length;
        break;
      case CharClass::mark_combining:
        break;
      case CharClass::punctuation:
        add_word_pieces(scratch, ids);
        scratch.append(cp);
        add_word_pieces(scratch, ids);
        break;
      case CharClass::spacing_combining:
        scratch.insert_ordered(cp, spacing_mark_class(cp));
        break;
      default:
        scratch.append(cp);
    }
  };
  for (std::size_t at = 0; at < word.size();) {
    const auto [cp, length] = decode_at(word, at);
    if (char_class(cp) != CharClass::removed) {
      std::array<char32_t, 2> lower;
      int count = 1;
      if (cp == kCapitalSigma)
        lower[0] = is_final_sigma(word, at, at + length) ? kFinalSigma : kSmallSigma;
      else
        count = lowercase(cp, lower);
      for (int i = 0; i < count; ++i)
        decompose(lower[i], add_normalized);
    }
    at += length;
  }
  add_word_pieces(scratch, ids);
}

void WordPieceTokenizer::add_word_pieces(Scratch& scratch, std::vector<std::uint32_t>& ids) const {
  const std::size_t length = scratch.length;
  const bool too_long = scratch.too_long;
  scratch.length = 0;
  scratch.too_long = false;
  scratch.run_start = 0;
  if (too_long) {
    ids.push_back(unk_);
    return;
  }
  if (length == 0) return;
  scratch.boundaries[0] = 0;
  for (std::size_t i = 0; i < length; ++i) {
    scratch.boundaries[i + 1] = static_cast<std::uint16_t>(
        scratch.boundaries[i] +
        encode_utf8(scratch.piece[i], &scratch.utf8[scratch.boundaries[i]]));
  }
  // Greedy longest match first, as WordpieceTokenizer: a piece that cannot be split to the end
  // is one [UNK], whatever it matched before.
  const std::size_t first_id = ids.size();
  for (std::size_t start = 0; start < length;) {
    const TokenMap& tokens = start == 0 ? ids_ : continuation_;
    const std::size_t longest = start == 0 ? longest_token_ : longest_continuation_;
    std::size_t end = std::min(length, start + longest);
    for (; end > start; --end) {
      const std::string_view candidate(&scratch.utf8[scratch.boundaries[start]],
                                       scratch.boundaries[end] - scratch.boundaries[start]);
      if (const auto found = tokens.find(candidate); found != tokens.end()) {
        ids.push_back(found->second);
        break;
      }
    }
    if (end == start) {
      ids.resize(first_id);
      ids.push_back(unk_);
      return;
    }
    start = end;
  }
}

WordPieceTokenizer::Encoding WordPieceTokenizer::encode(std::string_view text,
                                                        std::size_t max_length) const {
  if (max_length < 2)
    throw std::invalid_argument("max_length " + std::to_string(max_length) +
                                " leaves no room for [CLS] and [SEP]");
  const std::vector<std::uint32_t> tokens = tokenize(text);
  const std::size_t kept = std::min(tokens.size(), max_length - 2);
  Encoding encoding;
  encoding.ids.reserve(kept + 2);
  encoding.ids.push_back(cls_);
  encoding.ids.insert(encoding.ids.end(), tokens.begin(), tokens.begin() + kept);
  encoding.ids.push_back(sep_);
  encoding.types.assign(encoding.ids.size(), 0);
  encoding.truncated = kept < tokens.size();
  return encoding;
}

WordPieceTokenizer::Encoding WordPieceTokenizer::encode_pair(std::string_view a, std::string_view b,
                                                             std::size_t max_length) const {
  if (max_length < 3)
    throw std::invalid_argument("max_length " + std::to_string(max_length) +
                                " leaves no room for [CLS] and two [SEP]");
  const std::vector<std::uint32_t> first = tokenize(a);
  std::vector<std::uint32_t> second;
  try {
    second = tokenize(b);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string("second text: ") + error.what());
  }
  std::size_t first_kept = first.size(), second_kept = second.size();
  while (first_kept + second_kept > max_length - 3)
    --(first_kept > second_kept ? first_kept : second_kept);
  Encoding encoding;
  encoding.ids.push_back(cls_);
  encoding.ids.insert(encoding.ids.end(), first.begin(), first.begin() + first_kept);
  encoding.ids.push_back(sep_);
  encoding.types.assign(encoding.ids.size(), 0);
  encoding.ids.insert(encoding.ids.end(), second.begin(), second.begin() + second_kept);
  encoding.ids.push_back(sep_);
  encoding.types.resize(encoding.ids.size(), 1);
  encoding.truncated = first_kept < first.size() || second_kept < second.size();
  return encoding;
}

std::string WordPieceTokenizer::decode(std::span<const std::uint32_t> ids) const {
  std::string text;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) text += ' ';
    text += token(ids[i]);
  }
  text = replace_all(text, " ##", "");
  std::size_t begin = 0, end = text.size();
  while (begin < end && is_python_space(decode_at(text, begin).cp))
    begin += decode_at(text, begin).length;
  while (end > begin && is_python_space(decode_at(text, previous_char(text, end)).cp))
    end = previous_char(text, end);
  text = text.substr(begin, end - begin);
  // clean_up_tokenization, one replacement after the other over the whole text.
  static constexpr std::pair<std::string_view, std::string_view> kCleanUp[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kCleanUp)
    text = replace_all(text, from, to);
  return text;
}

const std::string& WordPieceTokenizer::token(std::uint32_t id) const {
  if (id >= tokens_.size()) {
    throw std::out_of_range("token id " + std::to_string(id) +
                            " is not below the vocabulary size " + std::to_string(tokens_.size()));
  }
  return tokens_[id];
}

std::optional<std::uint32_t> WordPieceTokenizer::id(std::string_view token) const {
  const auto found = ids_.find(token);
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

}  // namespace snnsim

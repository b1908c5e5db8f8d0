#!/usr/bin/env python3
"""Writes encoders/unicode_tables.inc: the Unicode data of the WordPiece tokenizer (wordpiece.cpp).

BERT's tokenizer (transformers' BertTokenizer, pure Python) asks Python's `unicodedata` and
`str.lower()`, so the tables are taken from them, with the version of the Python that runs this
script (3.11: Unicode 14.0.0) named in the header. What they hold, as the C++ side uses it:

  kClassRuns         the class of every code point (what BERT's _is_control, _is_whitespace,
                     _is_chinese_char, _is_punctuation and the Mn test of _run_strip_accents
                     say, and whether the canonical combining class is 0), as runs
  kLowercaseRuns     str.lower() of one code point, as runs of code points that share an offset
                     (every code point, or every second one); U+0130 is the one character whose
                     lowercase is two code points, and the C++ side spells it out
  kSigmaContextRuns  Cased and Case_Ignorable, which decide when str.lower() turns a capital sigma
                     into the final form (Python derives them from DerivedCoreProperties)
  kDecompositions    the canonical decomposition of every code point that has one, one level
                     (NFD applies them recursively); Hangul syllables are decomposed by their
                     formula instead
  kSpacingMarkClasses the combining class of the spacing marks that have one, the only marks that
                     survive accent stripping and yet take part in NFD's canonical reordering

The script checks the assumptions the C++ side makes (listed in assert_assumptions) and fails if
a Unicode version breaks one.

Regenerate (from the repository root) with the Python that makes the fixtures of
tools/reference/make_wordpiece_fixtures.py, so that both follow one Unicode version (3.11 made
the committed ones):

  /work/venv-wordpiece/bin/python tools/reference/make_unicode_tables.py
"""

import pathlib
import sys
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "encoders" / "unicode_tables.inc"
MAX_CODE_POINT = 0x10FFFF

# The classes; the numbers must match enum class CharClass in encoders/wordpiece.cpp.
OTHER, REMOVED, WHITESPACE, PUNCTUATION, CJK, MARK_STARTER, MARK_COMBINING, SPACING_COMBINING = \
    range(8)
# Sigma context values; they must match enum class SigmaContext in encoders/wordpiece.cpp.
UNCASED, CASED, CASE_IGNORABLE = range(3)

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
# The control characters that str.isspace() counts as spaces.
PYTHON_SPACES_REMOVED = {0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F, 0x85}


def is_chinese_char(cp):
    """BERT's _is_chinese_char, verbatim."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_bert_punctuation(cp):
    """BERT's _is_punctuation: non-alphanumeric ASCII, and the Unicode categories P*."""
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(chr(cp)).startswith("P")


def char_class(cp):
    """The class of one code point, in the order BERT's BasicTokenizer asks: _clean_text removes
    NUL, U+FFFD and the control characters (categories C* but tab, newline and carriage return)
    and turns whitespace into spaces before _tokenize_chinese_chars looks at CJK ideographs.
    U+2028 and U+2029 (Zl, Zp) are kept by _clean_text but split words in str.split(), so they are
    whitespace too."""
    char = chr(cp)
    category = unicodedata.category(char)
    if char in "\t\n\r" or category in ("Zs", "Zl", "Zp"):
        return WHITESPACE
    if cp in (0, 0xFFFD) or category.startswith("C"):
        return REMOVED
    if is_chinese_char(cp):
        return CJK
    if category == "Mn":
        return MARK_COMBINING if unicodedata.combining(char) else MARK_STARTER
    if is_bert_punctuation(cp):
        return PUNCTUATION
    if unicodedata.combining(char):
        return SPACING_COMBINING
    return OTHER


def sigma_context(cp):
    """Cased / Case_Ignorable as str.lower() sees them, read off its final-sigma rule: a capital
    sigma after a cased letter (case-ignorable characters skipped) at the end becomes U+03C2."""
    char = chr(cp)
    after_cased = ("A" + char + "\u03a3").lower()[-1] == "\u03c2"
    alone = (char + "\u03a3").lower()[-1] == "\u03c2"
    if after_cased and not alone:
        return CASE_IGNORABLE
    return CASED if alone else UNCASED


def scalar_values():
    return [cp for cp in range(MAX_CODE_POINT + 1) if not 0xD800 <= cp <= 0xDFFF]


def runs(values):
    """[(first code point, value)] where the value changes, surrogates taking their neighbour's."""
    result = []
    for cp in range(MAX_CODE_POINT + 1):
        value = values(cp) if not 0xD800 <= cp <= 0xDFFF else result[-1][1]
        if not result or result[-1][1] != value:
            result.append((cp, value))
    return result


def lowercase_runs():
    """(first, count, stride, offset): lower(first + k * stride) = first + k * stride + offset."""
    mapped = {}
    for cp in scalar_values():
        lower = chr(cp).lower()
        if lower != chr(cp) and cp != 0x130:
            assert len(lower) == 1, f"U+{cp:04X} lowercases to {len(lower)} code points"
            mapped[cp] = ord(lower) - cp
    assert chr(0x130).lower() == "i\u0307"
    result = []
    for cp in sorted(mapped):
        if result:
            first, count, stride, offset = result[-1]
            last = first + (count - 1) * stride
            if offset == mapped[cp] and (count == 1 and cp - last in (1, 2) or cp - last == stride):
                result[-1] = (first, count + 1, cp - last, offset)
                continue
        result.append((cp, 1, 1, mapped[cp]))
    return result


def decompositions():
    """(code point, first, second or 0) from the canonical decomposition mappings."""
    result = []
    for cp in scalar_values():
        if HANGUL_FIRST <= cp <= HANGUL_LAST:
            continue
        mapping = unicodedata.decomposition(chr(cp))
        if not mapping or mapping.startswith("<"):
            continue
        parts = [int(part, 16) for part in mapping.split()]
        assert len(parts) in (1, 2)
        result.append((cp, parts[0], parts[1] if len(parts) == 2 else 0))
    return result


def full_decomposition(cp, table):
    if HANGUL_FIRST <= cp <= HANGUL_LAST:
        return unicodedata.normalize("NFD", chr(cp))
    if cp not in table:
        return chr(cp)
    first, second = table[cp]
    return full_decomposition(first, table) + (chr(second) if second else "")


def assert_assumptions(classes, table):
    """What wordpiece.cpp relies on."""
    for cp in scalar_values():
        char = chr(cp)
        # Decomposing one level at a time, recursing into the first part only, is NFD.
        assert full_decomposition(cp, table) == unicodedata.normalize("NFD", char), hex(cp)
        if classes(cp) in (REMOVED, WHITESPACE):
            continue
        # NFC before lowercasing (BasicTokenizer normalizes each text to NFC) changes nothing
        # once the text is decomposed again.
        nfc_first = unicodedata.normalize("NFD", unicodedata.normalize("NFC", char).lower())
        assert nfc_first == unicodedata.normalize("NFD", char.lower()), hex(cp)
        # Lowercasing and decomposing yield no whitespace, control or CJK character (they would
        # have to split words again), and no character whose class differs between input and
        # output but for punctuation, which is only looked at after decomposing.
        for out in unicodedata.normalize("NFD", char.lower()):
            assert classes(ord(out)) not in (REMOVED, WHITESPACE), hex(cp)
            assert classes(ord(out)) != CJK or classes(cp) == CJK, hex(cp)
    # Python's str.isspace() (str.split(), str.strip()) holds for the whitespace class and for
    # PYTHON_SPACES_REMOVED, the control characters among its spaces (wordpiece.cpp spells them).
    for cp in scalar_values():
        removed_space = chr(cp).isspace() and classes(cp) == REMOVED
        assert chr(cp).isspace() == (classes(cp) == WHITESPACE or removed_space), hex(cp)
        assert removed_space == (cp in PYTHON_SPACES_REMOVED), hex(cp)
    # Only spacing marks take part in canonical reordering and survive accent stripping.
    for cp in scalar_values():
        if unicodedata.combining(chr(cp)) and unicodedata.category(chr(cp)) != "Mn":
            assert classes(cp) == SPACING_COMBINING, hex(cp)


def wrapped(items):
    """C++ initializers, as many to a line as fit in 100 columns."""
    lines = [""]
    for item in items:
        if lines[-1] and len(lines[-1]) + len(item) + 2 > 100 - 4:
            lines.append("")
        lines[-1] += (" " if lines[-1] else "") + item + ","
    return "\n".join("    " + line for line in lines)


def main():
    class_runs = runs(char_class)
    sigma_runs = runs(sigma_context)
    lower_runs = lowercase_runs()
    decomposition_list = decompositions()
    decomposition_table = {cp: (first, second) for cp, first, second in decomposition_list}
    assert_assumptions(char_class, decomposition_table)
    spacing_marks = [(cp, unicodedata.combining(chr(cp))) for cp in scalar_values()
                     if char_class(cp) == SPACING_COMBINING]

    version = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    text = f"""// Generated by tools/reference/make_unicode_tables.py from {version}'s unicodedata
// (Unicode {unicodedata.unidata_version}); do not edit. Included by encoders/wordpiece.cpp only.

namespace snnsim::unicode_tables {{

/// Runs of character classes: first code point << 4 | class (CharClass in wordpiece.cpp); a run
/// lasts until the next one's first code point.
inline constexpr std::uint32_t kClassRuns[] = {{
{wrapped(f"0x{cp << 4 | value:X}" for cp, value in class_runs)}
}};

/// Runs of SigmaContext values: first code point << 2 | value.
inline constexpr std::uint32_t kSigmaContextRuns[] = {{
{wrapped(f"0x{cp << 2 | value:X}" for cp, value in sigma_runs)}
}};

struct LowercaseRun {{
  std::uint32_t first;
  std::uint16_t count;
  std::uint8_t stride;
  std::int32_t offset;
}};
/// lowercase(first + k * stride) = first + k * stride + offset for k < count.
inline constexpr LowercaseRun kLowercaseRuns[] = {{
{wrapped(f"{{0x{first:X}, {count}, {stride}, {offset}}}" for first, count, stride, offset
         in lower_runs)}
}};

/// Canonical decompositions, one level: code point, first part, second part (0: none).
inline constexpr std::uint32_t kDecompositions[][3] = {{
{wrapped(f"{{0x{cp:X}, 0x{a:X}, 0x{b:X}}}" for cp, a, b in decomposition_list)}
}};

/// Canonical combining classes of the spacing marks that have one: code point, class.
inline constexpr std::uint32_t kSpacingMarkClasses[][2] = {{
{wrapped(f"{{0x{cp:X}, {ccc}}}" for cp, ccc in spacing_marks)}
}};

}}  // namespace snnsim::unicode_tables
"""
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(class_runs)} class runs, {len(sigma_runs)} "
          f"sigma-context runs, {len(lower_runs)} lowercase runs, {len(decomposition_list)} "
          f"decompositions, {len(spacing_marks)} spacing marks; {len(text)} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fixtures of the WordPiece tokenizer (encoders/wordpiece.h) from HuggingFace's tokenizers.

It writes to tests/data/wordpiece/:

  vocab.txt    a WordPiece vocabulary of VOCAB_SIZE tokens, trained with tokenizers'
               BertWordPieceTokenizer (lowercase=True) on the text Debian installs under
               /usr/share/common-licenses and in the copyright files of TRAINING_PACKAGES, plus the
               hand-written texts of HARD_CASES marked for training (so that accents, CJK, Greek
               and the like have tokens of their own; the others leave [UNK] to find)
  cases.jsonl  one test case a line: English prose from those files, lines of the other
               copyright files that hold non-ASCII text, the hard cases, and pairs of texts, each
               with what the authority makes of it:
                 {"text", ["text_pair",] "ids": tokenize -> ids (single texts),
                  "encodings": [{"max_length", "ids", ["types",] "truncated"}], "decoded"}
               "decoded" is the decode of the ids (of the single text's tokens, of the pair's whole
               encoding, special tokens included). "types" only for pairs (single texts: zeros).

The authority is transformers' pure-Python BERT tokenizer: BertTokenizer up to transformers 4,
BertTokenizerLegacy in transformers 5 (whose BertTokenizer is the Rust tokenizers' one), with
do_lower_case=True, tokenize_chinese_chars=True and strip_accents=None. Every case is also run
through tokenizers' BertWordPieceTokenizer and transformers 5's BertTokenizer; where they disagree
with the authority the script says so (and where they differ, tests/wordpiece_test.cpp follows the
authority). With tokenizers 0.23.3 and transformers 5.24.0 (whose BertTokenizer behaves as
tokenizers but where said) they disagree on 94 comparisons of the committed cases, of these
kinds:

  - a capital sigma at the end of a word: Python's str.lower() makes it the final sigma U+03C2,
    tokenizers lowercases one character at a time and gives U+03C3 ("ΟΔΟΣ": οδος / οδοσ);
  - a code point that Unicode 14 (Python 3.11) leaves unassigned and a later version assigns
    (the emoji U+1FAE8): Python removes it as category Cn, tokenizers keeps it ([UNK]);
  - a special token that appears once cleaning removed a character inside it ("[MA\u200bSK]")
    or NFC changed one ("[MAS\u212a]", KELVIN SIGN): Python keeps the word whole, [MASK];
    tokenizers looks for special tokens in the raw text only and splits it, [ ma ##sk ];
  - a pair cut longest first where both texts are cut and the room left is odd: Python gives the
    odd token to the first text, tokenizers to the longer one (to the second when they are
    equally long);
  - transformers 5's BertTokenizer drops an empty second text: [CLS] a [SEP] without the last
    [SEP];
  - decoding: tokenizers takes out the spaces of each token on its own, so that " ' " between
    words stays ("don ' t"), where Python's clean_up_tokenization works on the whole text ("don't",
    and "`show c' for" gives "`show c'for");
  - a lone carriage return in vocab.txt (not among the cases): Python ends the line there,
    tokenizers keeps it in the token.

The script prints every disagreement it finds. Regenerate (from the repository root):

  python3 -m venv /work/venv-wordpiece
  /work/venv-wordpiece/bin/pip install tokenizers transformers
  /work/venv-wordpiece/bin/python tools/reference/make_wordpiece_fixtures.py

tokenizers' trainer breaks ties between equally frequent merges in an order that changes from
run to run (and another machine may install other copyright files), so each run writes a
slightly different vocabulary; the cases always follow the vocabulary they were made with.
"""

import json
import pathlib
import re
import tempfile
from importlib.metadata import version

from tokenizers import BertWordPieceTokenizer
from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
from transformers.utils import logging

logging.set_verbosity_error()  # not a warning for every pair truncated longest first

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "data" / "wordpiece"
VOCAB_SIZE = 2000
LICENSES = pathlib.Path("/usr/share/common-licenses")
TRAINING_PACKAGES = ["base-files", "bash", "coreutils", "dpkg", "grep", "gzip", "sed", "tar",
                     "util-linux", "libc6", "findutils", "diffutils", "python3.11", "cmake", "git",
                     "curl", "openssl", "zlib1g"]
SINGLE_MAX_LENGTHS = [2, 5, 16, 64]
PAIR_MAX_LENGTHS = [3, 8, 13, 32]
PROSE_CASES = 170
NON_ASCII_LINES = 50
SIZE_LIMIT = 300_000

# Hand-written hard cases; True: also training text.
HARD_CASES = [
    ("", False),
    (" ", False),
    ("   \t\n  ", False),
    ("Hello, World!", True),
    ("Café résumé naïve façade coöperate", True),
    ("CAFÉ RÉSUMÉ NAÏVE", False),
    ("Cafe\u0301 re\u0301sume\u0301", False),  # decomposed accents
    ("我爱北京天安门", True),
    ("我爱北京天安门 and 東京 are cities, 中文abc混合", False),
    ("日本語のテキスト、カタカナとひらがな。", True),
    ("한국어 텍스트입니다", True),
    ("Ελληνικά: ΟΔΥΣΣΕΥΣ Ἀθῆναι", True),
    ("ΟΔΟΣ ΣΑΣ Σ ΑΣ. ΑΣ'Α ΑΣ.Β σΣ", False),  # final sigma contexts
    ("Привет, МИР! Ёжик в тумане.", True),
    ("Straße STRASSE ẞ groß", True),
    ("İstanbul ıIiİ DİYARBAKIR", True),
    ("ＡＢＣ１２３！ｆｕｌｌ－ｗｉｄｔｈ", False),
    ("e\u0301 a\u0308 n\u0303 o\u0328\u0301 \u0301leading", False),  # combining marks
    ("emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷", False),
    ("shaking face \U0001FAE8 is Unicode 15", False),
    ("!!!???...,,,;;;::: ((([[[{{{", False),
    ("don't can't it's rock 'n' roll I'm you're we've", True),
    ("1,234,567.89 and 3.14159 or 10^6 = 1e6; 50% off $5.00", True),
    ("tabs\tand\nnewlines\r\nand\rreturns", False),
    ("control\x00chars\x01\x07\x1b[31mred\x7f", False),
    ("zero\u200bwidth\u200cnon\u200djoiner co\u00adoperate \ufeffbom", False),
    ("no\u00a0break\u2003em\u3000ideographic\u2028line\u2029para\u0085nel", False),
    ("replacement \ufffd char", False),
    ("a" * 101, False),
    ("ab" * 50, False),
    ("e\u0301" * 60, False),
    ("supercalifragilisticexpialidocious" * 3 + " short", False),
    ("Pneumonoultramicroscopicsilicovolcanoconiosis is long", False),
    ("[CLS] the [MASK] sat on the [UNK] mat [SEP] [PAD]", False),
    ("Paris is the [MASK] of France.", False),
    ("lowercase [mask] is not special, x[SEP]y is", False),
    ("[MA\u200bSK] and [MAS\u212a] and [[CLS]] and [ MASK ]", False),
    ("5 \u212a is cold; \u2126 and \u212b", False),
    ("ﬁne ﬀ ligatures and Ⅻ roman, Ⓐ circled", False),
    ("Cherokee Ꭰ Ꭱ and Georgian Ა ა", False),
    ("titlecase ǅ Ǆ ǆ and ῼ ᾼ", False),
    ("musical \U0001D15E\U0001D16D\U0001D165 and \U0001D16D\U0001D165", False),
    ("Javanese ꦏ꦳꧀ and Balinese ᬓ᭄", False),
    ("CJK compatibility \uf900\ufa0a and extension B \U00020000\U0002a6d6", False),
    ("Thai สวัสดีครับ and Devanagari नमस्ते दुनिया", True),
    ("Arabic مرحبا بالعالم and Hebrew שָׁלוֹם", False),
    ("##ing ## # #hashtag", False),
    ("email@example.com https://example.org/path?q=1&x=2#frag", True),
    ("C++20 and C# and F# are languages", True),
    ("The quick brown fox jumps over the lazy dog.", True),
    ("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG", False),
    ("snake_case camelCase PascalCase kebab-case", True),
    ("  leading and trailing spaces  ", False),
    ("«guillemets» „Anführungszeichen“ “curly” ‘quotes’ — dash – dash…", True),
    ("Dvořák Łódź Ørsted Ångström Þór Ðakovo œuvre æsir", True),
    ("Vietnamese: Tiếng Việt có dấu", True),
    ("Hangul jamo 가 and syllable 가 각", False),
    ("math ∑∫√∞ ≠ ≤ ≥ ± × ÷ °C", False),
    ("superscripts x² H₂O and fractions ½ ¾", False),
    ("Mixed: English, Русский, Ελληνικά, 中文, 日本語, 한국어, العربية", False),
]

PAIR_CASES = [
    ("Is this a question?", "Yes, it is."),
    ("", "only the second text"),
    ("only the first text", ""),
    ("", ""),
    ("我爱北京天安门", "Café résumé naïve"),
    ("[MASK] in the first", "and [SEP] in the second"),
    ("a" * 101, "b c d e f g h i j k"),
    ("one two three four five six seven eight nine ten eleven twelve", "one two"),
    ("one two", "one two three four five six seven eight nine ten eleven twelve"),
    ("one two three four five six", "one two three four five six"),
    ("one two three four five six seven", "one two three four five six"),
    ("one two three four five six", "one two three four five six seven"),
]


def shortened(value, limit=70):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def sentences_of(text):
    """Sentences of a plain-text file, whitespace inside them kept as it was."""
    for sentence in re.split(r"(?<=[.;:!?])\s+", text):
        sentence = sentence.strip()
        if 20 <= len(sentence) <= 400 and re.search(r"[a-zA-Z]{3}", sentence):
            yield sentence


def training_files():
    files = sorted(path for path in LICENSES.iterdir() if path.is_file())
    for package in TRAINING_PACKAGES:
        path = pathlib.Path("/usr/share/doc") / package / "copyright"
        if path.exists():
            files.append(path)
    return files


def non_ascii_lines():
    """Lines with non-ASCII letters from the copyright files of all installed packages."""
    lines = set()
    for path in sorted(pathlib.Path("/usr/share/doc").glob("*/copyright")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if 10 <= len(line) <= 200 and re.search(r"[^\x00-\x7f\ufffd]", line):
                lines.add(line)
    lines = sorted(lines)
    step = max(1, len(lines) // NON_ASCII_LINES)
    return lines[::step][:NON_ASCII_LINES]


def train_vocabulary(texts):
    tokenizer = BertWordPieceTokenizer(lowercase=True)
    tokenizer.train_from_iterator(texts, vocab_size=VOCAB_SIZE, min_frequency=2,
                                  show_progress=False)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        written = pathlib.Path(tokenizer.save_model(folder)[0])
        (OUTPUT / "vocab.txt").write_bytes(written.read_bytes())


class Tokenizers:
    """The authority and the two others, on one vocabulary."""

    def __init__(self, vocab):
        self.authority = BertTokenizerLegacy(str(vocab), do_lower_case=True)
        self.rust = BertWordPieceTokenizer(str(vocab), lowercase=True)
        self.transformers = BertTokenizer(vocab=str(vocab), do_lower_case=True)
        self.disagreements = []

    def tokenize(self, text):
        return self.authority.convert_tokens_to_ids(self.authority.tokenize(text))

    def encode(self, text, pair, max_length):
        encoded = self.authority(text, pair, max_length=max_length, truncation=True,
                                 return_token_type_ids=True)
        return encoded["input_ids"], encoded["token_type_ids"]

    def decode(self, ids):
        return self.authority.decode(ids, clean_up_tokenization_spaces=True)

    def compare(self, what, text, pair, expected, rust, transformers):
        for name, got in (("tokenizers", rust), ("transformers BertTokenizer", transformers)):
            if got != expected:
                texts = shortened(text) + ("" if pair is None else " / " + shortened(pair))
                self.disagreements.append(f"{what} of {texts}: {name} gives {shortened(got)}, "
                                          f"BertTokenizerLegacy {shortened(expected)}")

    def rust_encode(self, text, pair, max_length):
        if max_length is None:
            self.rust.no_truncation()
        else:
            self.rust.enable_truncation(max_length)
        try:
            return self.rust.encode(text, pair, add_special_tokens=max_length is not None).ids
        except BaseException as error:  # a Rust panic for a max_length below the special tokens
            return f"error {error}"
        finally:
            self.rust.no_truncation()

    def transformers_encode(self, text, pair, max_length):
        try:
            encoded = self.transformers(text, pair, max_length=max_length, truncation=True)
            return encoded["input_ids"]
        except BaseException as error:
            return f"error {error}"

    def case(self, text, pair=None):
        case = {"text": text}
        if pair is not None:
            case["text_pair"] = pair
        else:
            case["ids"] = self.tokenize(text)
            self.compare("tokenize", text, pair, case["ids"], self.rust_encode(text, None, None),
                         self.transformers(text, add_special_tokens=False)["input_ids"])
        full, _ = self.encode(text, pair, None)
        case["encodings"] = []
        for max_length in PAIR_MAX_LENGTHS if pair is not None else SINGLE_MAX_LENGTHS:
            ids, types = self.encode(text, pair, max_length)
            encoding = {"max_length": max_length, "ids": ids, "truncated": ids != full}
            if pair is not None:
                encoding["types"] = types
            case["encodings"].append(encoding)
            self.compare(f"encode to {max_length}", text, pair, ids,
                         self.rust_encode(text, pair, max_length),
                         self.transformers_encode(text, pair, max_length))
        decoded_ids = case["ids"] if pair is None else full
        case["decoded"] = self.decode(decoded_ids)
        self.compare("decode", text, pair, case["decoded"],
                     self.rust.decode(decoded_ids, skip_special_tokens=False),
                     self.transformers.decode(decoded_ids, clean_up_tokenization_spaces=True))
        return case


def main():
    prose = []
    for path in sorted(path for path in LICENSES.iterdir() if path.is_file()):
        prose.extend(sentences_of(path.read_text(encoding="utf-8")))
    step = max(1, len(prose) // PROSE_CASES)
    prose = list(dict.fromkeys(prose[::step]))[:PROSE_CASES]
    non_ascii = non_ascii_lines()

    training = [path.read_text(encoding="utf-8", errors="replace") for path in training_files()]
    training += [text for text, train in HARD_CASES if train] * 2
    train_vocabulary(training)

    tokenizers = Tokenizers(OUTPUT / "vocab.txt")
    cases = [tokenizers.case(text) for text in prose + non_ascii]
    cases += [tokenizers.case(text) for text, _ in HARD_CASES]
    cases += [tokenizers.case(a, b) for a, b in PAIR_CASES]
    cases += [tokenizers.case(prose[i], prose[i + 1]) for i in range(0, 60, 3)]
    lines = [json.dumps(case, ensure_ascii=False, separators=(",", ":")) for case in cases]
    (OUTPUT / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    total = sum(path.stat().st_size for path in OUTPUT.iterdir())
    assert total < SIZE_LIMIT, f"fixtures of {total} bytes"
    print(f"tokenizers {version('tokenizers')}, transformers {version('transformers')}: "
          f"{len(cases)} cases, {total} bytes in {OUTPUT.relative_to(ROOT)}")
    print(f"{len(tokenizers.disagreements)} disagreements with BertTokenizerLegacy:")
    for disagreement in tokenizers.disagreements:
        print("  " + disagreement)


if __name__ == "__main__":
    main()

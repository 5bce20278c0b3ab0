#!/usr/bin/python3
"""Builds an English->Chinese parallel corpus from the gettext catalogs of Debian packages.

    /usr/bin/python3 scripts/corpus/make_corpus.py [--cache build/corpus] [--data data/catalogs-en-zh]

Every package pinned in packages.txt is fetched with `apt-get download` (never installed) and
unpacked with `dpkg-deb -x`; every zh_CN / zh_TW `.mo` file in it is read with Python's gettext.
Each English msgid and its translation becomes one pair, cleaned by the rules below.  zh_CN
pairs get the target language cmn_Hans, zh_TW pairs cmn_Hant (the tokens opus-mt-en-zh uses).

Cleaning, in order:
  * msgctxt is stripped; of a plural entry the singular msgid and the first translation form are
    kept (Chinese catalogs have one plural form: nplurals=1);
  * translator-credit entries and the catalog header are dropped;
  * line breaks and tabs become spaces, runs of spaces one space;
  * accelerator markers are removed on both sides the same way: the "(_F)" / "(&F)" / "(~F)"
    groups Chinese translations append, and `~`, `&`, `_` before a letter (mid-word `_` only
    when the translation showed it is an accelerator, so snake_case identifiers survive);
    format placeholders (%s, %1, {0}, $(ARG1)) are left as they are;
  * pairs are dropped when the source has no Latin letter, the target has no CJK character,
    the target equals the source, or either side is longer than MAX_CHARS characters;
  * de-duplicated by (target language, source): the first package in packages.txt order wins.

Held-out sets: a pair goes to test or dev by a hash of its normalised source (lower case, letters
and digits only), so near-duplicates ("Save", "Save...") never straddle train and test.  Dev and
test (both languages) are written as text under --data together with manifest.json (package,
version, pairs it gave); the training pairs go to --cache/train.tsv (not committed: re-made from
the packages).
"""

import argparse
import collections
import glob
import gettext
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

MAX_CHARS = 160
# Of every 1000 hash buckets, these go to the held-out sets (about 1.5 % each).
TEST_BUCKETS = range(0, 15)
DEV_BUCKETS = range(15, 30)

# Catalog directory name -> target language token (as opus-mt-en-zh names them).
LOCALE_TO_LANG = {"zh_CN": "cmn_Hans", "zh_TW": "cmn_Hant"}
LANGS = ("cmn_Hans", "cmn_Hant")

CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_LETTER = re.compile("[A-Za-z]")
WHITESPACE = re.compile(r"\s+")
# "文件(_F)", "打开(&O)...", "插入(~I)": the accelerator a translation re-states in brackets.
BRACKETED_ACCELERATOR = re.compile(r"\s*[(（]\s*[_&~]([A-Za-z0-9])\s*[)）]")
TILDE_ACCELERATOR = re.compile(r"~(?=[^\W_])")
# `&` before a letter, but not an entity (&amp; &#38;) and not a doubled `&&` (a literal &).
AMPERSAND_ACCELERATOR = re.compile(r"(?<!&)&(?=[^\W\d_])(?![A-Za-z]+;|#\d+;)")
WORD_START_UNDERSCORE = re.compile(r"(?<![^\W_])_(?=[^\W\d_])")
MIDWORD_UNDERSCORE = re.compile(r"(?<=[^\W_])_(?=[^\W\d_])")
TRANSLATOR_CREDITS = re.compile(r"translator[-_ ]credits|NAME OF TRANSLATORS|EMAIL OF TRANSLATORS"
                                r"|^Your names?$|^Your emails?$", re.IGNORECASE)


def remove_accelerators(text, accelerator_confirmed):
    text = TILDE_ACCELERATOR.sub("", text)
    text = AMPERSAND_ACCELERATOR.sub("", text)
    text = text.replace("&&", "&")
    text = WORD_START_UNDERSCORE.sub("", text)
    if accelerator_confirmed and text.count("_") == 1:
        text = MIDWORD_UNDERSCORE.sub("", text)
    return text


def clean_pair(source, target):
    """(source, target) cleaned, or (None, reason) when the pair is dropped."""
    source = WHITESPACE.sub(" ", source).strip()
    target = WHITESPACE.sub(" ", target).strip()
    accelerator_confirmed = bool(BRACKETED_ACCELERATOR.search(target))
    target = BRACKETED_ACCELERATOR.sub("", target)
    source = remove_accelerators(source, accelerator_confirmed)
    target = remove_accelerators(target, accelerator_confirmed)
    source, target = source.strip(), target.strip()
    if not LATIN_LETTER.search(source):
        return None, "source has no Latin letter"
    if not CJK.search(target):
        return None, "target has no CJK character"
    if target == source:
        return None, "target equals source"
    if len(source) > MAX_CHARS or len(target) > MAX_CHARS:
        return None, "longer than %d characters" % MAX_CHARS
    return (source, target), None


def split_of(source):
    key = re.sub(r"[^0-9a-z]+", "", source.lower()) or source
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "little") % 1000
    if bucket in TEST_BUCKETS:
        return "test"
    if bucket in DEV_BUCKETS:
        return "dev"
    return "train"


def read_pins(path):
    pins = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, version = line.split("=", 1)
                pins.append((name, version))
    return pins


def fetch_deb(name, version, debs_dir):
    """Path of name=version's .deb in debs_dir, downloading it when absent."""
    def cached():
        for path in glob.glob(os.path.join(debs_dir, name + "_*.deb")):
            got = subprocess.run(["dpkg-deb", "-f", path, "Version"], check=True,
                                 capture_output=True, text=True).stdout.strip()
            if got == version:
                return path
        return None
    path = cached()
    if path is None:
        result = subprocess.run(["apt-get", "download", "%s=%s" % (name, version)], cwd=debs_dir,
                                capture_output=True, text=True)
        path = cached()
        if path is None:
            raise SystemExit("make_corpus: apt-get download %s=%s failed: %s"
                             % (name, version, result.stderr.strip()))
    return path


def catalogs_in(root):
    """(.mo path, language) of the zh_CN / zh_TW catalogs under an unpacked package."""
    found = []
    for dirpath, _, files in os.walk(root):
        parts = dirpath.split(os.sep)
        langs = [LOCALE_TO_LANG[p] for p in parts if p in LOCALE_TO_LANG]
        if not langs:
            continue
        for name in files:
            if name.endswith(".mo"):
                found.append((os.path.join(dirpath, name), langs[-1]))
    return sorted(found)


def read_catalog(path):
    """(msgid, translation) pairs of a .mo file: context stripped, singular of plurals."""
    with open(path, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    pairs = []
    for key, translation in catalog.items():
        if isinstance(key, tuple):  # plural entry: (msgid, form index)
            msgid, form = key
            if form != 0:
                continue
        else:
            msgid = key
        context, _, msgid = msgid.rpartition("\x04")
        if not msgid or not translation:
            continue  # the header, or an untranslated entry
        if TRANSLATOR_CREDITS.search(msgid) or TRANSLATOR_CREDITS.search(context):
            continue
        pairs.append((msgid, translation))
    pairs.sort()
    return pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", default=os.path.join(HERE, "packages.txt"))
    parser.add_argument("--cache", default=os.path.join(ROOT, "build", "corpus"),
                        help="downloaded .debs and train.tsv go here")
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "catalogs-en-zh"),
                        help="manifest.json and the dev/test text files go here")
    args = parser.parse_args()

    debs_dir = os.path.join(args.cache, "debs")
    os.makedirs(debs_dir, exist_ok=True)
    os.makedirs(args.data, exist_ok=True)

    seen = set()
    splits = {s: {lang: [] for lang in LANGS} for s in ("train", "dev", "test")}
    dropped = collections.Counter()
    manifest_packages = []
    for name, version in read_pins(args.packages):
        deb = fetch_deb(name, version, debs_dir)
        unpacked = tempfile.mkdtemp(prefix="corpus-")
        try:
            subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
            catalogs = catalogs_in(unpacked)
            kept = collections.Counter()
            for path, lang in catalogs:
                try:
                    entries = read_catalog(path)
                except (OSError, UnicodeDecodeError, LookupError) as error:
                    raise SystemExit("make_corpus: %s in %s: %s"
                                     % (os.path.relpath(path, unpacked), deb, error))
                for msgid, translation in entries:
                    pair, reason = clean_pair(msgid, translation)
                    if pair is None:
                        dropped[reason] += 1
                        continue
                    if (lang, pair[0]) in seen:
                        dropped["duplicate source"] += 1
                        continue
                    seen.add((lang, pair[0]))
                    splits[split_of(pair[0])][lang].append(pair)
                    kept[lang] += 1
        finally:
            shutil.rmtree(unpacked)
        manifest_packages.append({
            "package": name, "version": version,
            "catalogs": collections.Counter(lang for _, lang in catalogs),
            "pairs": dict(kept), "total_pairs": sum(kept.values()),
        })
        print("%-32s %-28s %6d pairs from %d catalogs"
              % (name, version, sum(kept.values()), len(catalogs)), file=sys.stderr)

    for split in ("dev", "test"):
        for lang in LANGS:
            for side, column in (("en", 0), ("zh", 1)):
                with open(os.path.join(args.data, "%s.%s.%s" % (split, lang, side)), "w",
                          encoding="utf-8") as f:
                    f.writelines(pair[column] + "\n" for pair in splits[split][lang])
    with open(os.path.join(args.cache, "train.tsv"), "w", encoding="utf-8") as f:
        for lang in LANGS:
            f.writelines("%s\t%s\t%s\n" % (lang, s, t) for s, t in splits["train"][lang])

    manifest = {
        "description": "en->zh pairs from the zh_CN / zh_TW gettext catalogs of Debian 12 packages "
                       "(scripts/corpus/make_corpus.py)",
        "rules": {"max_chars": MAX_CHARS, "test_buckets_per_1000": len(TEST_BUCKETS),
                  "dev_buckets_per_1000": len(DEV_BUCKETS)},
        "counts": {split: {lang: len(splits[split][lang]) for lang in LANGS}
                   for split in ("train", "dev", "test")},
        "dropped": dict(sorted(dropped.items())),
        "packages": manifest_packages,
    }
    with open(os.path.join(args.data, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(json.dumps(manifest["counts"]), file=sys.stderr)


if __name__ == "__main__":
    main()

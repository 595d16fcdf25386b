"""Fill the Chinese catalogue: `python scripts/fill_translations.py FILE.json` merges {msgid: 中文}.

Run `make extract-messages` first so every msgid exists in the catalogue; then
`python scripts/fill_translations.py --missing` lists msgids still without Chinese.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def main(argv: list[str]) -> int:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="zh")
    if argv and argv[0] == "--missing":
        missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
        for msgid in missing:
            print(json.dumps(msgid if isinstance(msgid, str) else list(msgid), ensure_ascii=False))
        return 1 if missing else 0
    mapping = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    unknown = []
    for msgid, text in mapping.items():
        message = catalog.get(msgid)
        if message is None:
            unknown.append(msgid)
            continue
        if isinstance(message.id, (list, tuple)):
            # Chinese has one plural form: give a list (one string) or a string used for every form.
            forms = text if isinstance(text, list) else [text]
            message.string = tuple(forms[:1] * max(len(message.string or ()), 1))
            message.flags.discard("fuzzy")
            continue
        message.string = text
        message.flags.discard("fuzzy")
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=True, omit_header=False)
    if unknown:
        print("not in the catalogue (run make extract-messages):", *unknown, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

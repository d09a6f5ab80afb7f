"""Speed of decoding and of web-page extraction on the bundled report (docs/ingest.md).

    python -m ingest.bench_web
"""

from __future__ import annotations

from pathlib import Path

from ingest.decode import decode_bytes
from ingest.web import web_page_text
from ragchat.bench import best_of

REPORT = Path(__file__).resolve().parents[1] / "data" / "corpus" / "siping-plenary-2023-08.txt"
TRADITIONAL = ("臺北市政府今年推動公共住宅興建計畫，預計完成12000戶社會住宅。\n"
               "市長表示，將持續改善交通與環境品質，捷運環狀線預計於明年通車。\n")



def main() -> None:
    text = REPORT.read_text(encoding="utf-8")
    samples = [(text * 20, "utf-8"), (text * 20, "gbk"), (text * 20, "utf-16-le"), (TRADITIONAL * 3000, "big5")]
    for sample, encoding in samples:
        data = sample.encode(encoding)
        seconds, (decoded, name) = best_of(5, lambda: decode_bytes(data))
        assert decoded == sample
        print(f"{encoding:10s} {len(data) / 2**20:.2f} MiB -> {name:10s} {len(data) / 2**20 / seconds:6.0f} MiB/s")
    paras = [p for p in text.split("\n") if p.strip()]
    nav = "<nav>" + " | ".join(f"<a href='/{i}'>栏目{i}</a>" for i in range(30)) + "</nav>"
    side = "<aside><ul>" + "".join(f"<li><a href='/t{i}'>热门标签{i}</a></li>" for i in range(40)) + "</ul></aside>"
    recommended = ("<section><h3>推荐阅读</h3><ul>"
                   + "".join(f"<li><a href='/a{i}'>推荐文章标题第{i}篇</a></li>" for i in range(20)) + "</ul></section>")
    page = (f"<html><head><title>四平</title></head><body>{nav}{side}<article><h1>{paras[0]}</h1>"
            + "".join(f"<p>{p}</p>" for p in paras[1:]) + f"</article>{recommended}<footer>版权所有 © 2024</footer>"
            "</body></html>")
    seconds, out = best_of(5, lambda: web_page_text(page))
    kept = sum(p in out for p in paras[1:])
    left = [w for w in ("栏目", "热门标签", "推荐", "版权所有") if w in out]
    print(f"web page: {len(page.encode()) / 1024:.0f} KiB of HTML in {seconds * 1000:.0f} ms; "
          f"article paragraphs kept {kept}/{len(paras) - 1}; boilerplate left: {left or 'none'}")


if __name__ == "__main__":
    main()

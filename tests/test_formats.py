"""The converters on real files built here: what a support team's files come out as, and where
each fact is cited from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.ingest.formats import SUPPORTED_SUFFIXES, FormatError, convert, decode_text
from bot.ingest.formats.tables import row_facts, table_lines

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def _faq(conv, question: str):
    found = [f for f in conv.faqs if f.question == question]
    assert found, f"{question!r} not in {[f.question for f in conv.faqs]}"
    return found[0]


def _refused(path: Path) -> str:
    """The reason convert gives for not reading a file."""
    with pytest.raises(FormatError) as e:
        convert(path)
    return e.value.reason


def _text(conv) -> str:
    return "\n".join(s.text for s in conv.sections)


# ---- shared pieces ----------------------------------------------------------------------------


def test_supported_suffixes():
    assert {".xlsx", ".xls", ".csv", ".docx", ".pdf", ".html", ".htm", ".md", ".txt"} == set(
        SUPPORTED_SUFFIXES
    )


def test_row_facts_skips_empty_values_and_merged_repeats():
    header = ["产品", "规格", "规格", "备注"]
    assert row_facts(header, ["空调", "1.5匹", "1.5匹", ""]) == "产品:空调;规格:1.5匹"
    assert row_facts(["产品", "保修期"], ["洗衣机", 3.0]) == "产品:洗衣机;保修期:3"
    # A cell wrapped over two lines reads as one value.
    assert row_facts(["说明"], ["整机保修\n六年"]) == "说明:整机保修六年"


def test_table_lines_skip_a_repeated_header():
    rows = [["产品", "保修期"], ["空调", "6年"], ["产品", "保修期"], ["冰箱", "3年"]]
    assert table_lines(rows) == ["产品:空调;保修期:6年", "产品:冰箱;保修期:3年"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_decode_text_reads_every_chinese_encoding_alike(encoding):
    text = "退货地址在哪里?\n请寄回:广州市天河区售后中心。"
    assert decode_text(text.encode(encoding)) == text


def test_decode_text_short_gbk_is_not_mistaken_for_big5():
    # charset-normalizer alone calls these Big5 or Korean.
    for word in ("保修", "美的", "退货地址在哪里?", "产品;部件;保修期"):
        assert decode_text(word.encode("gbk")) == word


def test_decode_text_drops_nul_bytes_and_rejects_binary():
    assert decode_text("保修\x00六年".encode()) == "保修六年"
    with pytest.raises(ValueError):
        decode_text(bytes(range(128, 256)) * 8)


def test_unsupported_and_empty_files(tmp_path):
    (tmp_path / "a.pptx").write_bytes(b"PK\x03\x04")
    (tmp_path / "b.txt").write_bytes(b"")
    with pytest.raises(FormatError) as e:
        convert(tmp_path / "a.pptx")
    assert "unsupported" in e.value.reason and e.value.path == tmp_path / "a.pptx"
    assert str(e.value) == f"{tmp_path / 'a.pptx'}: {e.value.reason}"
    assert "empty" in _refused(tmp_path / "b.txt")
    (tmp_path / "c.txt").write_text("\n\n \x00\n")
    assert "no text found" in _refused(tmp_path / "c.txt")


# ---- sheets -----------------------------------------------------------------------------------


def _faq_workbook(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "常见问题"
    ws.append(["售后常见问题汇总(2024版)"])  # a title merged over the header
    ws.merge_cells("A1:E1")
    ws.append(["产品", "分类", "问题", "答案", "相似问题"])
    ws.append(
        ["格力空调", "保修", "空调保修多久?", "整机保修六年,压缩机十年。", "空调保几年\n空调保修期"]
    )
    ws.append([None, "安装", "安装收费吗?", "首次安装免费。", None])
    ws.append([])  # an empty row in the middle
    ws.append([None, "维修", "不制冷怎么办?", "请先检查遥控器模式。", "不制冷；制冷差"])
    ws.append([None, "保修", "遥控器丢了能补吗?", None, None])
    ws.append([None, None, "", "", ""])
    ws.merge_cells("A3:A7")  # 格力空调 over five rows
    ws.append(["美的冰箱", "保修", "冰箱保修多久?", "整机保修三年。", ""])
    prices = wb.create_sheet("配件价格")
    prices.append(["配件", "价格", "备注"])
    prices.append(["遥控器", 35, "包邮"])
    prices.append(["滤网", 12.5, None])
    wb.create_sheet("空白页")
    wb.save(path)


def test_xlsx_merged_product_applies_to_every_row(tmp_path):
    path = tmp_path / "faq.xlsx"
    _faq_workbook(path)
    conv = convert(path)
    rows = {f.question: f for f in conv.faqs}
    assert [rows[q].product for q in ("空调保修多久?", "安装收费吗?", "不制冷怎么办?")] == [
        "格力空调"
    ] * 3
    assert rows["冰箱保修多久?"].product == "美的冰箱"
    first = rows["空调保修多久?"]
    assert first.answer == "整机保修六年,压缩机十年。"
    assert first.category == "保修"
    assert first.similar == ("空调保几年", "空调保修期")
    assert rows["不制冷怎么办?"].similar == ("不制冷", "制冷差")
    # The header sits on row 2 under the merged title; rows keep their sheet row numbers.
    assert first.locator == "常见问题 第3行" and first.row == 3
    assert rows["不制冷怎么办?"].locator == "常见问题 第6行"
    assert "常见问题 第7行: 缺少答案" in conv.skipped
    assert conv.stats == {"rows": 4, "sheets": 3, "tables": 1}


def test_xlsx_sheet_without_faq_header_is_a_table(tmp_path):
    path = tmp_path / "faq.xlsx"
    _faq_workbook(path)
    conv = convert(path)
    (table,) = conv.sections
    assert table.heading == "配件价格"
    assert table.text.split("\n") == ["配件:遥控器;价格:35;备注:包邮", "配件:滤网;价格:12.5"]
    assert table.locator == "配件价格 第1-3行"
    assert any(s.startswith("空白页") and "空" in s for s in conv.skipped)


def test_xlsx_maxkb_layout(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["分段标题", "分段内容", "问题"])
    ws.append(
        ["退货流程", "七天内可无理由退货,请在订单页申请。", "怎么退货\n退货流程是什么\n能退吗"]
    )
    ws.append([None, "发票在订单完成后自动开具。", "发票怎么开\n能开专票吗"])
    wb.save(tmp_path / "maxkb.xlsx")
    conv = convert(tmp_path / "maxkb.xlsx")
    first = _faq(conv, "退货流程")
    assert first.similar == ("怎么退货", "退货流程是什么", "能退吗")
    assert first.answer.startswith("七天内可无理由退货")
    # No 分段标题: the first similar question is the question.
    second = _faq(conv, "发票怎么开")
    assert second.similar == ("能开专票吗",) and second.locator == "Sheet1 第3行"


def test_xls_with_merged_cells(tmp_path):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sh = book.add_sheet("售后FAQ")
    sh.write_merge(0, 0, 0, 2, "2024 售后问答")
    for c, name in enumerate(["品牌", "问题", "回答"]):
        sh.write(1, c, name)
    sh.write_merge(2, 3, 0, 0, "海尔")
    sh.write(2, 1, "热水器漏水怎么办?")
    sh.write(2, 2, "请关闭进水阀并联系售后。")
    sh.write(3, 1, "热水器保修多久?")
    sh.write(3, 2, "内胆保修八年。")
    book.save(str(tmp_path / "faq.xls"))
    conv = convert(tmp_path / "faq.xls")
    assert [(f.question, f.product, f.locator) for f in conv.faqs] == [
        ("热水器漏水怎么办?", "海尔", "售后FAQ 第3行"),
        ("热水器保修多久?", "海尔", "售后FAQ 第4行"),
    ]
    assert _faq(conv, "热水器保修多久?").answer == "内胆保修八年。"


def test_xls_that_is_really_an_html_table(tmp_path):
    # What many order and CRM systems export as "Excel".
    page = (
        '<html><head><meta charset="gbk"><title>导出</title></head><body><table>'
        "<tr><td>问题</td><td>答案</td></tr><tr><td>保修多久?</td><td>整机六年</td></tr>"
        "</table></body></html>"
    )
    (tmp_path / "export.xls").write_bytes(page.encode("gbk"))
    conv = convert(tmp_path / "export.xls")
    assert [(f.question, f.answer, f.locator) for f in conv.faqs] == [
        ("保修多久?", "整机六年", "第2行")
    ]


_CSV = "问题,答案,产品\n空调保修多久?,整机保修六年,格力\n怎么申请退货?,在订单页点击申请退货,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_every_encoding_reads_alike(tmp_path, encoding):
    path = tmp_path / "faq.csv"
    path.write_bytes(_CSV.replace("\n", "\r\n").encode(encoding))
    conv = convert(path)
    assert [(f.question, f.answer, f.product, f.locator) for f in conv.faqs] == [
        ("空调保修多久?", "整机保修六年", "格力", "第2行"),
        ("怎么申请退货?", "在订单页点击申请退货", "", "第3行"),
    ]


def test_csv_with_nul_bytes_and_semicolons(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_bytes("问题;答案\n空调\x00保修多久?;整机\x00保修六年\n".encode())
    conv = convert(path)
    assert [(f.question, f.answer) for f in conv.faqs] == [("空调保修多久?", "整机保修六年")]


def test_csv_headerless_two_columns_is_question_and_answer(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text(
        "空调保修多久?,整机保修六年\n怎么退货,七天内在订单页申请\n发票,订单完成后自动开具电子发票\n",
        encoding="utf-8",
    )
    conv = convert(path)
    assert [f.question for f in conv.faqs] == ["空调保修多久?", "怎么退货", "发票"]
    assert conv.faqs[2].answer == "订单完成后自动开具电子发票" and conv.faqs[2].locator == "第3行"


def test_csv_two_column_table_stays_a_table(tmp_path):
    path = tmp_path / "price.csv"
    path.write_text("配件\t价格\n遥控器\t35\n滤网\t12\n", encoding="utf-8")
    conv = convert(path)
    assert not conv.faqs
    assert conv.sections[0].text == "配件:遥控器;价格:35\n配件:滤网;价格:12"


def test_corrupt_and_encrypted_xlsx(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(os.urandom(2048))
    assert "corrupt" in _refused(bad)
    zipped = tmp_path / "zip.xlsx"
    zipped.write_bytes(b"PK\x03\x04" + os.urandom(500))
    assert "corrupt" in _refused(zipped)
    plain = tmp_path / "plain.xlsx"
    _faq_workbook(plain)
    locked = tmp_path / "locked.xlsx"
    _encrypt(plain, locked)
    assert "password" in _refused(locked)


# ---- Word -------------------------------------------------------------------------------------


def _encrypt(src: Path, dst: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    with src.open("rb") as f, dst.open("wb") as out:
        OOXMLFile(f).encrypt("secret", out)


def _warranty_docx(path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading("售后服务手册", 0)
    doc.add_paragraph("本手册适用于本公司全部家电产品。")
    doc.add_heading("保修政策", 1)
    doc.add_paragraph("保修期自购买之日起计算。")
    doc.add_paragraph("凭发票保修", style="List Bullet")
    doc.add_paragraph("人为损坏不在保修范围", style="List Bullet")
    table = doc.add_table(rows=4, cols=3)
    for r, row in enumerate(
        [
            ["产品", "部件", "保修期"],
            ["空调", "整机", "6年"],
            ["", "压缩机", "10年"],
            ["冰箱", "整机", "3年"],
        ]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(1, 0).merge(table.cell(2, 0))  # 空调 merged over two rows
    table.cell(1, 0).text = "空调"
    doc.add_paragraph("以上保修期均为整机保修。")
    doc.add_heading("退换货", 2)
    doc.add_paragraph("七天内可无理由退货。")
    doc.save(path)


def test_docx_headings_lists_and_parts_table(tmp_path):
    path = tmp_path / "手册.docx"
    _warranty_docx(path)
    conv = convert(path)
    assert conv.title == "售后服务手册"
    by_heading = {s.heading: s.text for s in conv.sections}
    assert by_heading["售后服务手册"] == "本手册适用于本公司全部家电产品。"
    assert by_heading["保修政策"].split("\n") == [
        "保修期自购买之日起计算。",
        "- 凭发票保修",
        "- 人为损坏不在保修范围",
        "产品:空调;部件:整机;保修期:6年",
        "产品:空调;部件:压缩机;保修期:10年",  # the merged cell repeats
        "产品:冰箱;部件:整机;保修期:3年",
        "以上保修期均为整机保修。",
    ]
    assert by_heading["退换货"] == "七天内可无理由退货。"
    assert conv.stats["tables"] == 1 and conv.stats["sections"] == 3


def test_docx_title_from_properties_else_stem(tmp_path):
    import docx

    doc = docx.Document()
    doc.core_properties.title = "保修卡说明"
    doc.add_paragraph("请妥善保管保修卡。")
    doc.save(tmp_path / "a.docx")
    assert convert(tmp_path / "a.docx").title == "保修卡说明"
    doc = docx.Document()
    doc.add_paragraph("请妥善保管保修卡。")
    doc.core_properties.title = ""
    doc.save(tmp_path / "保修卡.docx")
    conv = convert(tmp_path / "保修卡.docx")
    assert conv.title == "保修卡" and conv.sections[0].heading == ""


def test_docx_chinese_heading_styles_and_outline_levels(tmp_path):
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc = docx.Document()
    doc.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("第一章 保修", style="标题 1")
    doc.add_paragraph("整机保修六年。")
    outlined = doc.add_paragraph("第二章 维修")  # a heading by outline level, not by style
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "0")
    outlined._p.get_or_add_pPr().append(level)
    doc.add_paragraph("请拨打售后热线。")
    doc.save(tmp_path / "a.docx")
    conv = convert(tmp_path / "a.docx")
    assert [(s.heading, s.text) for s in conv.sections] == [
        ("第一章 保修", "整机保修六年。"),
        ("第二章 维修", "请拨打售后热线。"),
    ]


def test_encrypted_docx_says_password(tmp_path):
    plain = tmp_path / "plain.docx"
    _warranty_docx(plain)
    locked = tmp_path / "locked.docx"
    _encrypt(plain, locked)
    assert "password" in _refused(locked)


def test_corrupt_docx(tmp_path):
    (tmp_path / "a.docx").write_bytes(os.urandom(1024))
    (tmp_path / "b.docx").write_bytes(b"PK\x03\x04" + os.urandom(1024))
    for name in ("a.docx", "b.docx"):
        assert "corrupt" in _refused(tmp_path / name)


# ---- PDF --------------------------------------------------------------------------------------


def _cjk_font() -> str:
    """A font whose Chinese pdfplumber reads back: reportlab's built-in CID font, else WQY."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _pdf_lines(path: Path, pages: list[list[str]], **kw) -> None:
    from reportlab.pdfgen import canvas

    font = _cjk_font()
    c = canvas.Canvas(str(path), **kw)
    for lines in pages:
        c.setFont(font, 12)
        for k, line in enumerate(lines):
            c.drawString(72, 760 - 20 * k, line)
        c.showPage()
    c.save()


def test_pdf_reads_chinese_back(tmp_path):
    # The precondition of every PDF test: the CID font's text comes back as the same characters.
    import pdfplumber

    path = tmp_path / "cjk.pdf"
    _pdf_lines(path, [["空调整机保修六年,压缩机保修十年。"]])
    with pdfplumber.open(path) as pdf:
        assert pdf.pages[0].extract_text() == "空调整机保修六年,压缩机保修十年。"


def test_pdf_table_spanning_two_pages(tmp_path):
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=16)
    head = ParagraphStyle("head", fontName=font, fontSize=16, leading=22)
    rows = [["产品", "部件", "保修期"]]
    rows += [[f"空调{i}型", "压缩机" if i % 2 else "整机", f"{i}年"] for i in range(1, 61)]
    table = Table(rows)  # no repeatRows: page 2 starts without the header
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    story = [
        Paragraph("保修政策", head),
        Paragraph("本公司对所售空调提供以下保修服务。", body),
        table,
        Paragraph("以上保修自购买之日起计算。", body),
    ]
    path = tmp_path / "warranty.pdf"
    SimpleDocTemplate(str(path), pagesize=A4, title="空调保修政策").build(story)
    conv = convert(path)
    assert conv.title == "空调保修政策"
    assert conv.stats == {"pages": 2, "tables": 1}
    p1, p2 = conv.sections
    assert (p1.locator, p1.line, p2.locator, p2.line) == ("第1页", 1, "第2页", 2)
    assert p1.heading == "保修政策"
    assert p1.text.startswith(
        "本公司对所售空调提供以下保修服务。\n产品:空调1型;部件:压缩机;保修期:1年"
    )
    # Page 2 repeats no header: its rows still name their columns.
    assert "产品:空调60型;部件:整机;保修期:60年" in p2.text.split("\n")
    assert p2.text.endswith("以上保修自购买之日起计算。")
    facts = [line for s in conv.sections for line in s.text.split("\n") if line.startswith("产品:")]
    assert len(facts) == 60


def test_pdf_with_an_empty_page_reports_it(tmp_path):
    path = tmp_path / "manual.pdf"
    _pdf_lines(path, [["安装说明", "请由专业人员安装。"], [], ["清洁保养", "每月清洗滤网一次。"]])
    conv = convert(path)
    assert [(s.locator, s.heading, s.text) for s in conv.sections] == [
        ("第1页", "安装说明", "请由专业人员安装。"),
        ("第3页", "清洁保养", "每月清洗滤网一次。"),
    ]
    assert conv.skipped == ["第2页: 没有文字层(扫描件),需要 OCR 后再导入"]
    assert conv.title == "manual"  # reportlab's "untitled" is no title


def test_pdf_drops_running_headers_and_page_numbers(tmp_path):
    pages = [
        ["XX电器售后手册", f"第{n}章", f"第{n}章的正文内容。", f"第 {n} 页"] for n in range(1, 4)
    ]
    path = tmp_path / "manual.pdf"
    _pdf_lines(path, pages)
    conv = convert(path)
    assert [(s.heading, s.text) for s in conv.sections] == [
        (f"第{n}章", f"第{n}章的正文内容。") for n in range(1, 4)
    ]


def test_pdf_without_text_layer_needs_ocr(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    for _ in range(2):
        c.rect(72, 72, 400, 600, fill=1)  # what a scanned image leaves: marks, no characters
        c.showPage()
    c.save()
    assert "OCR" in _refused(path)


def test_encrypted_pdf(tmp_path):
    path = tmp_path / "locked.pdf"
    _pdf_lines(path, [["保修政策"]], encrypt="secret")
    assert "password-protected PDF" in _refused(path)


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "bad.pdf"
    path.write_bytes(b"%PDF-1.4\n" + os.urandom(2000))
    with pytest.raises(FormatError):
        convert(path)


@pytest.mark.skipif(not WQY.exists(), reason="WenQuanYi Micro Hei is not installed")
def test_pdf_with_an_embedded_truetype_chinese_font(tmp_path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", str(WQY), subfontIndex=0))
    path = tmp_path / "wqy.pdf"
    c = canvas.Canvas(str(path))
    c.setFont("WQY", 12)
    c.drawString(72, 760, "压缩机保修十年,整机保修六年。")
    c.save()
    assert _text(convert(path)) == "压缩机保修十年,整机保修六年。"


# ---- HTML, Markdown, text ---------------------------------------------------------------------


_HTML = """<!DOCTYPE html><html><head><meta charset="gbk"><title>退换货政策 - 官方商城</title>
<style>.x{color:red}</style><script>var tracking = "不要读我";</script></head>
<body><header>登录 | 注册</header><nav><a href="/">首页</a><a href="/faq">帮助中心</a></nav>
<h1>退换货政策</h1><p>自签收之日起<b>七天内</b>可申请
无理由退货。</p>
<h2>退货条件</h2><ul><li>商品完好</li><li>配件齐全<br>发票齐全</li></ul>
<table><tr><th>商品</th><th>退货期</th><th>运费</th></tr>
<tr><td rowspan="2">大家电</td><td>7天</td><td>商家承担</td></tr>
<tr><td>15天(质量问题)</td><td></td></tr></table>
<aside>猜你喜欢</aside><footer>版权所有 2024</footer><noscript>请开启 JS</noscript>
<p class="article-feedback">这篇文章对您有帮助吗?<a href="#">有帮助</a> <a href="#">没帮助</a></p>
<div id="related_articles"><a href="/a">换货要多久</a></div>
<div class="cookie-banner">本站使用 Cookie</div><div role="navigation">上一篇</div>
</body></html>"""


def test_html_drops_page_chrome_and_flattens_table(tmp_path):
    path = tmp_path / "returns.html"
    path.write_bytes(_HTML.encode("gbk"))  # the meta says gbk
    conv = convert(path)
    assert conv.title == "退换货政策 - 官方商城"
    text = _text(conv)
    chrome = ("不要读我", "首页", "登录", "猜你喜欢", "版权所有", "color", "开启 JS")
    chrome += ("有帮助", "换货要多久", "Cookie", "上一篇")  # marked by class, id or role
    for noise in chrome:
        assert noise not in text
    by_heading = {s.heading: s.text for s in conv.sections}
    assert by_heading["退换货政策"] == "自签收之日起七天内可申请无理由退货。"
    assert by_heading["退货条件"].split("\n") == [
        "- 商品完好",
        "- 配件齐全",
        "发票齐全",
        "商品:大家电;退货期:7天;运费:商家承担",
        "商品:大家电;退货期:15天(质量问题)",
    ]
    assert conv.stats["tables"] == 1


def test_html_key_value_table_and_utf8(tmp_path):
    path = tmp_path / "spec.htm"
    path.write_text(
        "<html><body><h1>产品参数</h1><table><tr><th>型号</th><td>KFR-35GW</td></tr>"
        "<tr><th>能效</th><td>一级</td></tr></table></body></html>",
        encoding="utf-8",
    )
    conv = convert(path)
    assert conv.title == "产品参数"
    assert conv.sections[0].text == "型号:KFR-35GW\n能效:一级"


_MD = """---
title: 保修政策
brand: gree
updated: 2024-05-01
---
<!-- source: 保修政策.pdf -->
# 空调保修

整机保修**六年**。

## 部件保修期
<!-- source: 部件表.xlsx, 保修卡.pdf -->
<!-- 内部备注:不要发给客户 -->

| 部件 | 保修期 | 备注 |
|:-----|------:|------|
| 压缩机 | 10年 | |
| 遥控器 \\| 电池 | 1年 | 电池除外 |

### 不保修的情况
* 人为损坏
* 自行拆机
"""


def test_markdown_front_matter_sources_and_pipe_table(tmp_path):
    path = tmp_path / "warranty.md"
    path.write_text(_MD, encoding="utf-8")
    conv = convert(path)
    assert conv.meta["brand"] == "gree" and conv.title == "保修政策"
    sections = {s.heading: s for s in conv.sections}
    assert sections["空调保修"].text == "整机保修六年。"
    assert sections["空调保修"].line == 7
    parts = sections["部件保修期"]
    assert parts.line == 11
    assert parts.sources == ("部件表.xlsx", "保修卡.pdf")
    assert parts.text.split("\n") == [
        "部件:压缩机;保修期:10年",
        "部件:遥控器 | 电池;保修期:1年;备注:电池除外",
    ]
    assert "|" not in parts.text.replace("遥控器 | 电池", "") and "内部备注" not in parts.text
    # The comment above the first heading speaks for the sections that name none.
    assert sections["空调保修"].sources == ("保修政策.pdf",)
    assert sections["不保修的情况"].text == "- 人为损坏\n- 自行拆机"
    assert sections["不保修的情况"].line == 20


def test_markdown_title_from_first_heading_and_bad_front_matter(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("# 安装须知\n\n安装前请确认电压。\n", encoding="utf-8")
    conv = convert(path)
    assert conv.title == "安装须知" and conv.sections[0].line == 1
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: ok\nbrand: [gree\n---\n正文\n", encoding="utf-8")
    assert "front matter at line 3" in _refused(bad)


_TXT = """售后服务说明

一、保修期
空调整机保修六年。
压缩机保修十年。

二、维修预约
拨打 400-800-1234 预约上门,
工作时间 8:00-20:00。
"""


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig", "gb18030"])
def test_txt_sections_come_out_the_same_in_every_encoding(tmp_path, encoding):
    path = tmp_path / "售后.txt"
    path.write_bytes(_TXT.replace("\n", "\r\n").encode(encoding))
    conv = convert(path)
    assert conv.title == "售后"
    assert [(s.heading, s.text, s.line) for s in conv.sections] == [
        ("一、保修期", "空调整机保修六年。\n压缩机保修十年。", 3),
        ("二、维修预约", "拨打 400-800-1234 预约上门,\n工作时间 8:00-20:00。", 7),
    ]


def test_txt_without_headings_is_one_section(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("如遇故障,请先断电。\n\n然后联系售后,我们会尽快处理。\n", encoding="utf-8")
    (section,) = convert(path).sections
    assert (
        section.heading == ""
        and section.text == "如遇故障,请先断电。\n\n然后联系售后,我们会尽快处理。"
    )


def test_a_unit_in_the_header_goes_with_every_value_under_it():
    from bot.ingest.formats.tables import row_facts

    # "39" alone under "收费(元)" would lose its unit in the answer a customer reads.
    assert row_facts(["项目", "收费(元)"], ["主刷", "39"]) == "项目:主刷;收费:39元"
    assert (
        row_facts(["项目", "价格\uff08元/次\uff09"], ["人工费", "80"]) == "项目:人工费;价格:80元/次"
    )
    assert (
        row_facts(["项目", "收费(元)"], ["上门检测", "保修期内免费"])
        == "项目:上门检测;收费(元):保修期内免费"
    )

"""Regenerate the raw knowledge files of the fictional company 青禾智能.

Run from the repository root:  .venv/bin/python eval/kbs/qinghe/make_files.py

Writes every file under eval/kbs/qinghe/knowledge/ except kefu.yaml: the binary ones
(xlsx, GBK csv, docx, pdf) and the two text pages (html, md). The output is deterministic:
document dates are fixed, zip members get a fixed timestamp and the PDF is written with
reportlab's invariant mode, so a rerun gives identical bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "knowledge"

# Fixed metadata timestamps (document properties only, never shown as content).
DOC_TIME = dt.datetime(2026, 1, 5, 9, 0, 0)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
AUTHOR = "青禾智能售后服务部"


def _normalize_zip(path: Path) -> None:
    """Rewrite an OOXML zip with fixed member timestamps and a stable member order."""
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------- faq/常见问题.xlsx

ROBOT_ROWS = [
    (
        "扫地机器人不充电怎么办?",
        "请先检查充电座上的充电触点和机器底部的触点是否干净,有灰尘或污渍可以用干布擦拭;"
        "再确认充电座的电源已插好、处于通电状态。以上都正常仍然充不上电的,请预约维修。",
        "扫地机充不进电\n放到充电座上没反应\n扫地机器人回充后不充电",
        "故障",
    ),
    (
        "已经清理了充电座触点,扫地机还是充不上电怎么办?",
        "这种情况需要工程师进一步检测,请拨打客服热线或在青禾生活 APP 里预约维修,"
        "可以选择寄修或上门维修。",
        "",
        "故障",
    ),
    (
        "扫地机器人的电池保修多久?",
        "扫地机器人电池的保修期为6个月。",
        "扫地机电池坏了保修吗\n电池质保期多长",
        "保修",
    ),
    (
        "扫地机器人坏了能寄修吗?",
        "可以。我们收到您寄来的机器后,会在5个工作日内修好并寄回;保修期内来回运费都不用您出。",
        "",
        "维修",
    ),
]

PURIFIER_ROWS = [
    (
        "在哪里查看空气净化器滤芯还能用多久?",
        "打开青禾生活 APP,进入空气净化器的设备页面,就能看到滤芯剩余寿命,到期前会提醒您更换。",
        "滤芯寿命怎么看\n净化器什么时候该换滤芯",
        "滤芯",
    ),
    (
        "HEPA滤芯多久换一次?",
        "一般建议6-12个月更换一次HEPA滤芯,具体要看使用频率和环境,可以参考 APP 里显示的滤芯寿命。",
        "",
        "滤芯",
    ),
]

GENERAL_ROWS = [
    (
        "退货后退款多久能到账?",
        "退货审核通过后,款项会原路退回到您付款的账户,一般3-7个工作日到账。",
        "退款什么时候到\n退货的钱多久退回来\n退款一直没到账",
        "退款",
    ),
    (
        "退款会退到哪里?",
        "退款按原支付方式原路退回,例如用哪个账户付款就退回哪个账户。",
        "",
        "退款",
    ),
    (
        "寄修一般要多长时间?",
        "从我们收到产品开始算,5个工作日内完成维修并寄回给您。",
        "送修多久能寄回来\n寄修周期",
        "维修",
    ),
    (
        "寄修的运费要自己承担吗?",
        "在保修期内,寄修的往返运费均由我们承担,您不需要支付。",
        "寄修包邮吗",
        "维修",
    ),
    (
        "怎么预约上门维修?",
        "您可以拨打客服热线,或者在青禾生活 APP 里提交上门维修预约。",
        "",
        "维修",
    ),
    (
        "预约上门维修后,工程师多久会联系我?",
        "预约成功后,工程师会在24小时内与您联系,确认上门时间。",
        "工程师什么时候打电话来\n约了上门一直没人联系",
        "维修",
    ),
    (
        "对服务不满意,怎么投诉?",
        "可以拨打客服热线反映,也可以在青禾生活 APP 的“投诉”入口提交。",
        "",
        "投诉",
    ),
    (
        "投诉之后多久有回复?",
        "我们会在48小时内给您回复处理意见。",
        "投诉没人理\n投诉处理要多久",
        "投诉",
    ),
    (
        "APP里的售后入口在哪里?",
        "打开青禾生活 APP,点击“我的”,再进入“售后服务”即可。",
        "",
        "服务渠道",
    ),
]


def make_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = "FAQ"
    ws.append(["青禾智能售后常见问题(2026版)"])
    ws.merge_cells("A1:E1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(["问题", "答案", "相似问题", "产品", "分类"])
    for cell in ws[2]:
        cell.font = Font(bold=True)

    next_row = 3

    def block(rows, product, merge):
        nonlocal next_row
        first = next_row
        for question, answer, similar, category in rows:
            for col, value in enumerate((question, answer, similar, product, category), 1):
                if value:
                    ws.cell(next_row, col, value)
            next_row += 1
        last = next_row - 1
        if merge and last > first:
            ws.merge_cells(start_row=first, start_column=4, end_row=last, end_column=4)
            ws.cell(first, 4).alignment = Alignment(vertical="center")

    block(ROBOT_ROWS, "扫地机器人", merge=True)
    block(PURIFIER_ROWS, "空气净化器", merge=True)
    next_row += 1  # the blank separator row a person leaves between groups
    block(GENERAL_ROWS, "通用", merge=False)

    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=3):
        for cell in (row[1], row[2]):
            cell.alignment = wrap
    for col, width in zip("ABCDE", (34, 60, 28, 12, 10), strict=True):
        ws.column_dimensions[col].width = width

    notes = wb.create_sheet("说明")
    notes["A1"] = "本表由售后客服组整理,供日常答复客户时参考。"
    notes["A2"] = "“相似问题”一栏每行写一种问法;新增问题请加在表格末尾,不要改动已有行。"
    notes["A3"] = "产品一栏写“通用”的问题,两个产品线都适用。"
    notes.column_dimensions["A"].width = 80

    wb.properties.creator = AUTHOR
    wb.properties.lastModifiedBy = AUTHOR
    wb.properties.title = "青禾智能售后常见问题"
    wb.properties.created = DOC_TIME
    wb.properties.modified = DOC_TIME
    # Workbook.save() stamps the current time as "modified"; the writer it wraps does not.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
    _normalize_zip(path)


# ---------------------------------------------------------------- faq/退换货问答.csv

RETURN_ROWS = [
    (
        "七天无理由退货需要满足什么条件?",
        "青禾智能的产品支持7天无理由退货,前提是商品未使用、包装完整。",
    ),
    (
        "“未使用、包装完整”具体指什么?",
        "未使用是指产品没有开机使用过、没有使用痕迹;包装完整是指原包装盒以及盒内的配件、"
        "说明书等随附物品都齐全,没有缺失。",
    ),
    (
        "买了没多久出现质量问题,可以换货吗?",
        "15天内出现质量问题的,可以申请换货,换成同一型号的新品。",
    ),
    (
        "换货可以换成别的型号吗?",
        "质量问题换货只换同型号产品,不能换成其他型号。",
    ),
    (
        "退货的钱多久能退回来?",
        "退货审核通过后,退款在3-7个工作日内按原支付方式退回。",
    ),
    (
        "无理由退货的运费由谁承担?",
        "目前的退换货政策里没有写明无理由退货的运费由谁承担,请拨打客服热线咨询确认。",
    ),
]


def make_csv(path: Path) -> None:
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "answer"])
        writer.writerows(RETURN_ROWS)


# ---------------------------------------------------------------- policies/保修政策.docx

WARRANTY_TABLE = [
    ("扫地机器人", "整机", "1年", ""),
    ("扫地机器人", "电机", "3年", "含驱动电机、吸尘电机"),
    ("扫地机器人", "电池", "1年", ""),
    ("扫地机器人", "主刷", "不保修", "耗材"),
    ("扫地机器人", "边刷", "不保修", "耗材"),
    ("扫地机器人", "滤网", "不保修", "耗材"),
    ("空气净化器", "整机", "1年", ""),
    ("空气净化器", "电机", "5年", ""),
    ("空气净化器", "HEPA滤芯", "不保修", "耗材"),
    ("空气净化器", "活性炭滤芯", "不保修", "耗材"),
]


def make_docx(path: Path) -> None:
    from docx import Document

    doc = Document()
    doc.add_heading("青禾智能产品保修政策", level=1)
    doc.add_paragraph(
        "本政策适用于青禾智能科技有限公司销售的青禾扫地机器人(S1、S2 Pro)和青禾空气净化器(A3、A5)。"
    )

    doc.add_heading("保修期起算", level=2)
    doc.add_paragraph("保修期从购买之日起计算,购买日期以发票或购买凭证上的日期为准。")
    doc.add_paragraph("如果无法提供发票或购买凭证,保修期按产品出厂日期往后顺延90天开始计算。")

    doc.add_heading("保修期限", level=2)
    doc.add_paragraph(
        "各产品整机及主要部件的保修期见下表。标注为耗材的部件属于正常损耗件,不提供保修。"
    )
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("产品", "部件", "保修期", "备注"), strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in WARRANTY_TABLE:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text

    doc.add_heading("不在保修范围内的情形", level=2)
    doc.add_paragraph("出现下列情形之一的,不享受免费保修:")
    for item in (
        "人为损坏;",
        "产品进水;",
        "未经青禾智能授权自行拆机或拆修;",
        "用于商业用途。",
    ):
        doc.add_paragraph(item, style="List Bullet")
    doc.add_paragraph("保修期外或不在保修范围内的维修,按《青禾智能保外维修收费标准》收费。")

    doc.add_heading("退换货", level=2)
    doc.add_paragraph("产品未使用且包装完整的,支持7天无理由退货。")
    doc.add_paragraph("15天内出现质量问题的,可以换同型号产品。")

    props = doc.core_properties
    props.title = "青禾智能产品保修政策"
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.revision = 1
    props.created = DOC_TIME
    props.modified = DOC_TIME
    props.last_printed = DOC_TIME
    doc.save(path)
    _normalize_zip(path)


# ---------------------------------------------------------------- policies/收费标准.pdf

FEE_ROWS = [
    ("通用", "上门检测费", "50", "保修期内免收"),
    ("通用", "人工费", "80", "元/次"),
    ("扫地机器人", "主刷", "39", ""),
    ("扫地机器人", "边刷", "19", "元/对"),
    ("扫地机器人", "滤网", "29", ""),
    ("扫地机器人", "电池更换", "199", ""),
    ("扫地机器人", "驱动轮", "129", ""),
    ("空气净化器", "HEPA滤芯", "159", ""),
    ("空气净化器", "活性炭滤芯", "129", ""),
    ("空气净化器", "电机更换", "260", ""),
]

FOOTER = "青禾智能科技有限公司    服务热线:400-820-3553"


def make_pdf(path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font = "STSong-Light"
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=22, spaceBefore=8)

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, FOOTER)
        canvas.restoreState()

    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=22 * mm,
        bottomMargin=24 * mm,
        title="青禾智能保外维修收费标准",
        author=AUTHOR,
        creator=AUTHOR,
        subject="保外维修收费",
        invariant=1,
    )
    story = [
        Paragraph("青禾智能保外维修收费标准", title),
        Spacer(1, 6 * mm),
        Paragraph(
            "本标准适用于超出保修期,或不在保修范围内的青禾扫地机器人、青禾空气净化器维修。"
            "维修时按实际发生的服务项目和更换的配件收费,收费单位为人民币元。",
            body,
        ),
        Paragraph("收费说明", heading),
        Paragraph("上门检测费:保修期外上门检测需收取上门检测费,保修期内免收。", body),
        Paragraph("人工费:按次收取。", body),
        Paragraph("配件费:按下表所列价格收取。", body),
        Paragraph("收费明细", heading),
    ]
    data = [["产品", "项目", "收费(元)", "说明"], *[list(r) for r in FEE_ROWS]]
    table = Table(
        data,
        colWidths=[38 * mm, 45 * mm, 30 * mm, 57 * mm],
        rowHeights=[22 * mm] * len(data),
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 11),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story.append(table)
    story += [
        Paragraph("偏远地区上门", heading),
        Paragraph("偏远地区上门服务需另收附加费,具体金额以当地服务网点报价为准。", body),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)


# ---------------------------------------------------------------- help/服务渠道.html

HTML = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="UTF-8">
<title>服务渠道 - 青禾智能帮助中心 | Qinghe Help Center</title>
<link rel="stylesheet" href="/static/css/help-center.css">
<script>
  window.dataLayer = window.dataLayer || [];
  function track(name) { window.dataLayer.push({ event: name, page: "service-channels" }); }
</script>
</head>
<body>
<nav class="top-nav">
  <ul>
    <li><a href="/help/">帮助中心首页</a></li>
    <li><a href="/help/products/">产品支持</a></li>
    <li><a href="/help/channels/" class="active">服务渠道</a></li>
    <li><a href="/help/warranty/">保修政策</a></li>
    <li><a href="/download/">下载APP</a></li>
  </ul>
</nav>
<main class="article">
<h1>服务渠道</h1>
<p>使用青禾智能产品遇到问题时,您可以通过以下任一方式联系我们的售后团队。</p>

<h2>客服热线</h2>
<p>全国服务热线:<strong>400-820-3535</strong>,每天 8:00-20:00 提供人工服务。</p>

<h2>微信公众号</h2>
<p>在微信中搜索“青禾智能服务”并关注公众号,即可在公众号内咨询售后问题。</p>

<h2>青禾生活 APP</h2>
<p>打开青禾生活 APP,依次进入“我的”→“售后服务”,可以申请维修、查询进度。</p>

<h2>在线客服</h2>
<p>青禾生活 APP 内提供在线客服,服务时间为 9:00-21:00。</p>

<h2>售后邮箱</h2>
<p>售后邮箱以官网公布为准。</p>

<h2>渠道一览</h2>
<table class="channel-table">
  <thead>
    <tr><th>渠道</th><th>方式</th><th>时间</th></tr>
  </thead>
  <tbody>
    <tr><td>客服热线</td><td>拨打 400-820-3535</td><td>每天 8:00-20:00</td></tr>
    <tr><td>在线客服</td><td>青禾生活 APP 内进入在线客服</td><td>9:00-21:00</td></tr>
    <tr><td>微信公众号</td><td>微信搜索“青禾智能服务”</td><td>—</td></tr>
    <tr><td>青禾生活 APP</td><td>我的 → 售后服务</td><td>—</td></tr>
    <tr><td>售后邮箱</td><td>以官网公布为准</td><td>—</td></tr>
  </tbody>
</table>
<p class="feedback">这篇文章对您有帮助吗?<a href="#" onclick="track('helpful')">有帮助</a> <a href="#" onclick="track('not-helpful')">没帮助</a></p>
</main>
<footer class="site-footer">
  <p>© 青禾智能科技有限公司 版权所有</p>
  <p><a href="/privacy/">隐私政策</a> | <a href="/terms/">用户协议</a> | <a href="/about/">关于我们</a></p>
</footer>
</body>
</html>
"""

# ---------------------------------------------------------------- help/安全须知.md

MARKDOWN = """# 安全须知

使用过程中如果遇到下列情况,请先按本页说明处理,确保人身和财产安全,再联系售后。

## 空气净化器冒烟、有焦味或出现火花

立即拔掉电源插头,不要自行打开机器检查,并尽快联系青禾智能售后。

## 扫地机器人电池鼓包或发烫

发现电池鼓包或明显过热时,请停止使用,也不要再给它充电,把机器放在远离易燃物品的地方,然后联系售后处理。

## 产品进水

空气净化器里洒进了水,或者扫地机器人吸进了水,请马上断电,不要再开机,并联系售后。
"""


def main() -> None:
    for sub in ("faq", "policies", "help"):
        (ROOT / sub).mkdir(parents=True, exist_ok=True)
    make_xlsx(ROOT / "faq" / "常见问题.xlsx")
    make_csv(ROOT / "faq" / "退换货问答.csv")
    make_docx(ROOT / "policies" / "保修政策.docx")
    make_pdf(ROOT / "policies" / "收费标准.pdf")
    (ROOT / "help" / "服务渠道.html").write_text(HTML, encoding="utf-8")
    (ROOT / "help" / "安全须知.md").write_text(MARKDOWN, encoding="utf-8")
    print(f"wrote {ROOT}")


if __name__ == "__main__":
    main()

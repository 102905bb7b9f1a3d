"""The streamed .xlsx writer (services/xlsx.py), read back with openpyxl: what a
spreadsheet program gets from each kind of value, and the workbook's frame."""

import math
import zipfile
from datetime import date, datetime
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl
import pytest

from services.xlsx import Rate, Workbook, column_letters


def _written(rows, headers=("甲", "乙", "丙"), widths=(12, 20, 9), title="诉求清单 <测试>") -> openpyxl.Workbook:
    book = Workbook(title)
    book.sheet("诉求", headers, rows, widths)
    book.sheet("说明", ("项目", "内容"), [["行数", len(rows)]], (12, 80))
    with book.close() as file:
        return openpyxl.load_workbook(file)


def test_column_letters():
    assert [column_letters(i) for i in (0, 1, 25, 26, 27, 51, 52, 701)] == ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ"]


def test_text_stays_text_escaped_and_cleaned():
    rows = [
        ["=1+1", "007", "http://example.com/"],
        ["<script>alert('x')</script> & 人大", "第一行\n第二行", "  两头有空格  "],
        ["控制\x00字符\x1b去掉\ttab 留下", "", None],
    ]
    ws = _written(rows)["诉求"]
    assert [c.value for c in ws[2]] == ["=1+1", "007", "http://example.com/"]
    assert all(c.data_type == "s" for c in ws[2])  # neither a formula, a number nor a link
    assert ws["A2"].hyperlink is None
    assert [c.value for c in ws[3]] == ["<script>alert('x')</script> & 人大", "第一行\n第二行", "  两头有空格  "]
    assert ws["A4"].value == "控制字符去掉\ttab 留下"
    assert ws["B4"].value is None and ws["C4"].value is None


def test_numbers_dates_and_rates():
    stamp = datetime(2026, 1, 2, 3, 4, 5)
    rows = [[stamp, Rate(0.875), 42], [Decimal("2.5"), 1.25, True], [math.nan, date(2026, 3, 1), -7]]
    ws = _written(rows)["诉求"]
    assert ws["A2"].value == stamp and ws["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["B2"].value == pytest.approx(0.875) and ws["B2"].number_format == "0.0%"
    assert ws["C2"].value == 42 and ws["C2"].number_format == "General"
    assert [ws["A3"].value, ws["B3"].value, ws["C3"].value] == [2.5, 1.25, 1]
    assert type(ws["C2"].value) is int  # 42, not 42.0
    # What is no number a spreadsheet can hold is written as its text.
    assert [ws["A4"].value, ws["B4"].value, ws["C4"].value] == ["nan", "2026-03-01", -7]


def test_frame_headings_widths_title_and_sheets():
    book = _written([["a", "b", "c"]] * 3)
    assert book.sheetnames == ["诉求", "说明"]
    assert book.properties.title == "诉求清单 <测试>"
    ws = book["诉求"]
    assert [c.value for c in ws[1]] == ["甲", "乙", "丙"]
    assert all(c.font.b for c in ws[1]) and not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert [round(ws.column_dimensions[col].width) for col in "ABC"] == [13, 21, 10]
    assert ws.max_row == 4
    assert [c.value for c in book["说明"][2]] == ["行数", 3]


def test_every_part_is_well_formed_xml():
    book = Workbook("t")
    book.sheet("一", ("x",), [["&"], ["<"]], (10,))
    with book.close() as file, zipfile.ZipFile(file) as package:
        assert package.testzip() is None
        names = package.namelist()
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml"} <= set(names)
        for name in names:
            ElementTree.fromstring(package.read(name))  # raises on anything malformed


def test_a_generator_of_rows_is_written_whole():
    """Rows come as the database sends them: a generator, longer than one write's batch."""

    def rows():
        for n in range(3000):
            yield [f"第{n}行", n]

    book = Workbook("t")
    book.sheet("一", ("行", "号"), rows(), (10, 10))
    with book.close() as file:
        ws = openpyxl.load_workbook(file, read_only=True)["一"]
        values = [row for row in ws.iter_rows(min_row=2, values_only=True)]
    assert len(values) == 3000
    assert values[0] == ("第0行", 0) and values[-1] == ("第2999行", 2999)
